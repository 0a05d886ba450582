/**
 * The exactly-once ledger and the issue-11 anomaly kinds on drawn flows, each with its
 * near-miss: what real telemetry looks like when an endpoint consumes from two queues, a
 * subscriber misses an event, a span is dropped, a consumer is slow, a retry is delayed, a
 * service is not (fully) instrumented, a publish races a commit, an outbox is late, or a retry
 * sends a different body. Times are offsets in ms from T0; NOW is 10 minutes later unless a
 * case says otherwise.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { AnomalyKind, Flow, Invariant, Severity, Verdict } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { attempt, httpServer, resetSpanIds, send, type AttemptSpec } from '../../test/span-builders.js';
import { reconstructFlow, type FlowOptions } from './reconstruct-flow.js';
import { ATTR_BODY_DIGEST, ATTR_COMMITTED_AT_MS, ATTR_ENDPOINT, ATTR_OUTBOX_DISPATCH } from '@onceflow/instrumentation/semconv';
import { subscriptionKey, type Subscriptions } from './subscriptions.js';
import type { EntryLoss, ExportLoss } from './export-losses.js';

const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const QUIET = 30_000;
const NOW = T0 + 10 * 60_000;
const at = (offsetMs: number) => T0 + offsetMs;
const conversationId = 'conv-ledger';

beforeEach(() => resetSpanIds());

/** billing publishes OrderBilled to the `order-events` exchange; these endpoints usually consume it. */
const EVENT_SUBSCRIBERS: Subscriptions = new Map([
  [
    subscriptionKey('billing', 'OrderBilled'),
    {
      known: new Map([
        ['shipping/order-events', 'shipping'],
        ['marketing/order-events', 'marketing'],
        ['invoicing/order-events', 'invoicing'],
        ['audit/order-events', 'audit'],
      ]),
      usual: new Map([
        ['shipping/order-events', 'shipping'],
        ['marketing/order-events', 'marketing'],
        ['invoicing/order-events', 'invoicing'],
      ]),
    },
  ],
  [
    subscriptionKey('orders', 'BillCustomer'),
    { known: new Map([['billing/billing', 'billing']]), usual: new Map([['billing/billing', 'billing']]) },
  ],
]);

const billCustomer = (offsetMs = 0) =>
  send({ service: 'orders', messageId: 'bill-1', messageType: 'BillCustomer', destination: 'billing', atMs: at(offsetMs), conversationId });

const orderBilled = (parent: SpanRow, offsetMs: number, attributes: Record<string, string> = {}) =>
  send({ parent, messageId: 'billed-1', messageType: 'OrderBilled', destination: 'order-events', atMs: at(offsetMs), attributes });

const consume = (parent: SpanRow, service: string, offsetMs: number, spec: Partial<AttemptSpec> = {}) =>
  attempt({ parent, service, outcome: 'processed', atMs: at(offsetMs), ...spec });

/** One span lost at export by `service` between two offsets (a hole in its export stream). */
const loss = (service: string, fromMs: number, toMs: number): ExportLoss => ({
  service,
  stream: 'feedfacefeedface',
  fromMs: at(fromMs),
  toMs: at(toMs),
  missing: 1,
});

/** One delivery span lost at export by `service`, named for `messageId` by the delivery after it (null: not named). */
const entryLoss = (service: string, fromMs: number, toMs: number, messageId: string | null): EntryLoss => ({
  ...loss(service, fromMs, toMs),
  messageId,
});

/** An attempt that committed at `committedMs` (offset), as the outcome call records it. */
const committed = (committedMs: number) => ({ [ATTR_COMMITTED_AT_MS]: String(at(committedMs)) });

interface Case {
  name: string;
  build: () => SpanRow[];
  options?: Partial<FlowOptions>;
  /** Kinds that must be present (with the severity of the first) and no others. */
  flagged: Partial<Record<AnomalyKind, Severity>>;
  /** Verdicts expected; a string is a fragment the reason must contain. */
  ledger: Partial<Record<Invariant, Verdict | [Verdict, string]>>;
  /** Fragments the detail of the first anomaly of each flagged kind must contain. */
  detail?: Partial<Record<AnomalyKind, string[]>>;
  /** Services that do not number their spans; every other one does, and has exported up to now unless `options.exportedUntil` says otherwise. */
  unnumbered?: string[];
}

const cases: Case[] = [
  {
    // OrderBilled ─┬─> marketing (queue marketing.coupons) #1 processed
    //              └─> marketing (queue marketing.stats)   #1 processed    two handlers: two endpoints
    name: 'one service consuming an event from two queues is two endpoints, not a duplicate',
    build: () => {
      const billed = send({
        service: 'billing',
        messageId: 'billed-1',
        messageType: 'OrderBilled',
        destination: 'order-events',
        atMs: at(0),
        conversationId,
      });
      return [
        billed,
        consume(billed, 'marketing', 20, { destination: 'marketing.coupons' }),
        consume(billed, 'marketing', 30, { destination: 'marketing.stats' }),
      ];
    },
    flagged: {},
    ledger: { noDuplicateProcessing: 'held', noGhost: 'held', noLost: 'held', consistentOutput: 'held' },
  },
  {
    // near-miss: the same queue twice, both processed
    name: 'one service processing an event twice from the same queue is a duplicate processing',
    build: () => {
      const billed = send({
        service: 'billing',
        messageId: 'billed-1',
        messageType: 'OrderBilled',
        destination: 'order-events',
        atMs: at(0),
        conversationId,
      });
      return [
        billed,
        consume(billed, 'marketing', 20, { destination: 'marketing.coupons' }),
        consume(billed, 'marketing', 3000, { destination: 'marketing.coupons', attempt: 2, redelivered: true }),
      ];
    },
    flagged: { 'duplicate-delivery': 'warning', 'duplicate-processing': 'error' },
    ledger: { noDuplicateProcessing: ['violated', 'processed 2× by marketing'] },
  },
  {
    // declared endpoints win over the queue: two declared names are two endpoints…
    name: 'declared endpoints (onceflow.endpoint) name the endpoint',
    build: () => {
      const billed = send({
        service: 'billing',
        messageId: 'billed-1',
        messageType: 'OrderBilled',
        destination: 'order-events',
        atMs: at(0),
        conversationId,
      });
      return [
        billed,
        consume(billed, 'marketing', 20, { attributes: { [ATTR_ENDPOINT]: 'marketing-coupons' } }),
        consume(billed, 'marketing', 30, { attributes: { [ATTR_ENDPOINT]: 'marketing-stats' } }),
      ];
    },
    flagged: {},
    ledger: { noDuplicateProcessing: 'held' },
  },
  {
    // OrderBilled ─┬─> shipping   processed
    //              ├─> marketing  processed
    //              └─x invoicing  (usually subscribes; never received it)
    name: 'an event that missed one of its three usual subscribers is a missed delivery',
    build: () => {
      const bill = billCustomer();
      const handle = consume(bill, 'billing', 10);
      const billed = orderBilled(handle, 50);
      return [bill, handle, billed, consume(billed, 'shipping', 80), consume(billed, 'marketing', 90)];
    },
    options: { subscriptions: EVENT_SUBSCRIBERS },
    flagged: { 'missed-delivery': 'error' },
    ledger: { noLost: ['violated', 'invoicing/order-events'], noDuplicateProcessing: 'held' },
    detail: { 'missed-delivery': ['OrderBilled', 'never invoicing/order-events', 'from billing'] },
  },
  {
    // near-miss: all three usual subscribers got it (audit, known but not usual, did not)
    name: 'an event that reached every usual subscriber is not a missed delivery',
    build: () => {
      const bill = billCustomer();
      const handle = consume(bill, 'billing', 10);
      const billed = orderBilled(handle, 50);
      return [bill, handle, billed, consume(billed, 'shipping', 80), consume(billed, 'marketing', 90), consume(billed, 'invoicing', 95)];
    },
    options: { subscriptions: EVENT_SUBSCRIBERS },
    flagged: {},
    ledger: { noLost: 'held', noGhost: 'held' },
  },
  {
    // BillCustomer ─> billing ─ ReportGenerated ─x   (nobody subscribes to ReportGenerated)
    name: 'an event with no known subscriber is not lost: unknown',
    build: () => {
      const bill = billCustomer();
      const handle = consume(bill, 'billing', 10);
      return [
        bill,
        handle,
        send({ parent: handle, messageId: 'report-1', messageType: 'ReportGenerated', destination: 'reports', atMs: at(50) }),
      ];
    },
    options: { subscriptions: EVENT_SUBSCRIBERS },
    flagged: {},
    ledger: { noLost: ['unknown', 'no known subscriber of ReportGenerated from billing'] },
  },
  {
    // near-miss: BillCustomer has a known subscriber and was never delivered
    name: 'a message with a known subscriber never delivered is lost',
    build: () => [billCustomer()],
    options: { subscriptions: EVENT_SUBSCRIBERS },
    flagged: { 'lost-message': 'error' },
    ledger: { noLost: ['violated', 'lost-message'] },
  },
  {
    // POST /orders ─ SubmitOrder ─> [orders attempt: span dropped] ─ BillCustomer ─> billing
    name: 'a span dropped from the middle of a trace makes the undelivered message unknown, not lost',
    build: () => {
      const http = httpServer({ service: 'shop-api', route: '/orders', atMs: at(0), conversationId });
      const submit = send({ parent: http, messageId: 'submit-1', messageType: 'SubmitOrder', destination: 'orders', atMs: at(5) });
      const dropped = attempt({ parent: submit, service: 'orders', outcome: 'processed', atMs: at(20) });
      const bill = send({ parent: dropped, messageId: 'bill-1', messageType: 'BillCustomer', destination: 'billing', atMs: at(30) });
      return [http, submit, bill, consume(bill, 'billing', 60)];
    },
    flagged: {},
    ledger: { noLost: ['unknown', 'spans missing from trace'] },
  },
  {
    // trace A: BillCustomer ─> [billing attempt: span dropped, it had no children]
    // trace B: GrantCoupon ─> [marketing attempt: span dropped] ─ SendMail (orphan)
    name: 'a dropped leaf consumer leaves no orphan: once the flow loses spans elsewhere, the undelivered message is unknown',
    build: () => {
      const coupon = send({
        service: 'marketing',
        messageId: 'coupon-1',
        messageType: 'GrantCoupon',
        destination: 'marketing',
        atMs: at(5),
        conversationId,
      });
      const dropped = consume(coupon, 'marketing', 20);
      return [
        billCustomer(),
        coupon,
        send({ parent: dropped, messageId: 'mail-1', messageType: 'SendMail', destination: 'mailer', atMs: at(30) }),
      ];
    },
    options: { subscriptions: EVENT_SUBSCRIBERS },
    flagged: {},
    ledger: { noLost: ['unknown', "this flow's telemetry loses spans"] },
  },
  {
    // near-miss: trace B complete (its consumer span arrived), BillCustomer still never consumed
    name: 'the same flow with nothing missing elsewhere: the undelivered BillCustomer is lost',
    build: () => {
      const coupon = send({
        service: 'marketing',
        messageId: 'coupon-1',
        messageType: 'GrantCoupon',
        destination: 'marketing',
        atMs: at(5),
        conversationId,
      });
      return [billCustomer(), coupon, consume(coupon, 'marketing', 20)];
    },
    options: { subscriptions: EVENT_SUBSCRIBERS },
    flagged: { 'lost-message': 'error' },
    ledger: { noLost: ['violated', 'lost-message'] },
  },
  {
    // near-miss: nothing orphaned, SubmitOrder simply never consumed
    name: 'the same trace with no span missing and SubmitOrder never consumed is lost',
    build: () => {
      const http = httpServer({ service: 'shop-api', route: '/orders', atMs: at(0), conversationId });
      return [http, send({ parent: http, messageId: 'submit-1', messageType: 'SubmitOrder', destination: 'orders', atMs: at(5) })];
    },
    flagged: { 'lost-message': 'error' },
    ledger: { noLost: 'violated' },
  },
  {
    // BillCustomer sent 60 s ago; billing's p99 delivery latency is 45 s: still within its quiet period
    name: 'a consumer slower than 30 s: its type gets a longer quiet period, nothing is lost yet',
    build: () => [billCustomer()],
    options: { now: at(60_000), deliveryLatencyP99Ms: new Map([['BillCustomer', 45_000]]) },
    flagged: {},
    ledger: { noLost: ['unknown', 'quiet period'] },
  },
  {
    // near-miss: with no latency observed the base 30 s quiet period applies
    name: 'the same message 60 s after its send, with no slow latency observed, is lost',
    build: () => [billCustomer()],
    options: { now: at(60_000) },
    flagged: { 'lost-message': 'error' },
    ledger: { noLost: 'violated' },
  },
  {
    // BillCustomer ─> billing #1 retry_scheduled (retry in 5 min)
    //                   └─ OrderBilled ─> shipping processed     (published before the failure)
    name: 'a delayed retry still to come makes a would-be ghost unknown',
    build: () => {
      const bill = billCustomer();
      const first = consume(bill, 'billing', 10, {
        outcome: 'retry_scheduled',
        error: 'provider timeout',
        retryDelayMs: 300_000,
        durationMs: 100,
      });
      const billed = orderBilled(first, 50);
      return [bill, first, billed, consume(billed, 'shipping', 80)];
    },
    options: { now: at(120_000) },
    flagged: {},
    ledger: { noGhost: ['unknown', 'a retry of BillCustomer at billing/billing is scheduled'] },
  },
  {
    // near-miss: the attempt failed for good (no retry scheduled)
    name: 'the same publish under an attempt that failed for good is a ghost',
    build: () => {
      const bill = billCustomer();
      const first = consume(bill, 'billing', 10, { outcome: 'failed', error: 'deadlock detected', durationMs: 100 });
      const billed = orderBilled(first, 50);
      return [bill, first, billed, consume(billed, 'shipping', 80)];
    },
    options: { now: at(120_000) },
    flagged: { 'ghost-message': 'error' },
    ledger: { noGhost: ['violated', 'ghost-message'] },
  },
  {
    // BillCustomer ─> billing #1 failed after publishing OrderBilled ─> shipping processed;
    // billing lost a span at export 3 s later: attempt 2, the one that committed, may be it
    name: 'a would-be ghost whose producer lost spans at export after its last failed attempt is unknown',
    build: () => {
      const bill = billCustomer();
      const first = consume(bill, 'billing', 10, { outcome: 'failed', error: 'deadlock detected', durationMs: 100 });
      const billed = orderBilled(first, 50);
      return [bill, first, billed, consume(billed, 'shipping', 80)];
    },
    options: { now: at(120_000), exportLosses: [loss('billing', 3_000, 3_010)] },
    flagged: {},
    ledger: { noGhost: ['unknown', 'a later attempt of BillCustomer at billing/billing, which may have committed'] },
  },
  {
    // near-miss: the failed attempt was dead-lettered: no later attempt to lose, a ghost
    name: 'a publish under a dead-lettered attempt is a ghost whatever its service lost later',
    build: () => {
      const bill = billCustomer();
      const first = consume(bill, 'billing', 10, { outcome: 'dead_lettered', error: 'deadlock detected', durationMs: 100 });
      const billed = orderBilled(first, 50);
      return [bill, first, billed, consume(billed, 'shipping', 80)];
    },
    options: { now: at(120_000), exportLosses: [loss('billing', 3_000, 3_010)] },
    flagged: { 'ghost-message': 'error', 'dead-letter': 'error' },
    ledger: { noGhost: ['violated', 'ghost-message'] },
  },
  {
    // near-miss: billing lost a span before the failed attempt started: a ghost
    name: 'export losses before the failed attempt leave a ghost a ghost',
    build: () => {
      const bill = billCustomer();
      const first = consume(bill, 'billing', 10, { outcome: 'failed', error: 'deadlock detected', durationMs: 100 });
      const billed = orderBilled(first, 50);
      return [bill, first, billed, consume(billed, 'shipping', 80)];
    },
    options: { now: at(120_000), exportLosses: [loss('billing', -5_000, -4_000)] },
    flagged: { 'ghost-message': 'error' },
    ledger: { noGhost: ['violated', 'ghost-message'] },
  },
  {
    // BillCustomer ─> legacy-erp (not instrumented: no consumer span ever) with no known subscriber
    name: 'a message to an uninstrumented consumer is unknown, not lost',
    build: () => [
      send({ service: 'orders', messageId: 'erp-1', messageType: 'ErpExport', destination: 'legacy-erp', atMs: at(0), conversationId }),
    ],
    options: { subscriptions: EVENT_SUBSCRIBERS },
    flagged: {},
    ledger: { noLost: ['unknown', 'no known subscriber of ErpExport'] },
  },
  {
    // marketing records message identity but no outcomes, and got OrderBilled twice
    name: 'a consumer without outcome calls receiving a message twice: duplicate processing unknown',
    build: () => {
      const billed = send({
        service: 'billing',
        messageId: 'billed-1',
        messageType: 'OrderBilled',
        destination: 'order-events',
        atMs: at(0),
        conversationId,
      });
      return [billed, consume(billed, 'marketing', 20, { outcome: '' }), consume(billed, 'marketing', 3000, { outcome: '', attempt: 2 })];
    },
    flagged: { 'duplicate-delivery': 'warning' },
    ledger: { noDuplicateProcessing: ['unknown', 'without recording outcomes'] },
  },
  {
    // near-miss: with outcomes, the second delivery was skipped as a duplicate
    name: 'the same redelivery with outcomes recorded holds',
    build: () => {
      const billed = send({
        service: 'billing',
        messageId: 'billed-1',
        messageType: 'OrderBilled',
        destination: 'order-events',
        atMs: at(0),
        conversationId,
      });
      return [billed, consume(billed, 'marketing', 20), consume(billed, 'marketing', 3000, { outcome: 'duplicate', attempt: 2 })];
    },
    flagged: { 'duplicate-delivery': 'info' },
    ledger: { noDuplicateProcessing: 'held' },
  },
  {
    // billing #1 [start 10 ── send OrderBilled 50 ── commit 300 ── end]: published before the commit
    name: 'a publish before a commit that succeeded is a premature publish',
    build: () => {
      const bill = billCustomer();
      const handle = consume(bill, 'billing', 10, { durationMs: 400, attributes: committed(300) });
      const billed = orderBilled(handle, 50);
      return [bill, handle, billed, consume(billed, 'shipping', 80)];
    },
    flagged: { 'premature-publish': 'warning' },
    ledger: { noGhost: 'held', noLost: 'held' },
    detail: { 'premature-publish': ['published by billing 250 ms before BillCustomer attempt 1 committed'] },
  },
  {
    // near-miss: the outbox dispatched it after the commit
    name: 'an outbox dispatch after the commit is not premature',
    build: () => {
      const bill = billCustomer();
      const handle = consume(bill, 'billing', 10, { durationMs: 400, attributes: committed(300), outgoing: ['billed-1'] });
      const billed = orderBilled(handle, 350, { [ATTR_OUTBOX_DISPATCH]: 'true' });
      return [bill, handle, billed, consume(billed, 'shipping', 380)];
    },
    flagged: {},
    ledger: { noGhost: 'held', noLost: 'held' },
  },
  {
    // billing #1 [send OrderBilled 50 ── commit failed] ─> shipping consumed it
    name: 'a publish before a commit that failed is a ghost, not a premature publish',
    build: () => {
      const bill = billCustomer();
      const handle = consume(bill, 'billing', 10, { durationMs: 400, outcome: 'failed', error: 'could not commit' });
      const billed = orderBilled(handle, 50);
      return [bill, handle, billed, consume(billed, 'shipping', 80)];
    },
    flagged: { 'ghost-message': 'error' },
    ledger: { noGhost: 'violated' },
  },
  {
    // billing committed at 300 with OrderBilled in its outbox; dispatched 10 s later
    name: 'an outbox dispatched 10 s late is not stuck',
    build: () => {
      const bill = billCustomer();
      const handle = consume(bill, 'billing', 10, { durationMs: 400, attributes: committed(300), outgoing: ['billed-1'] });
      const billed = send({
        service: 'billing',
        messageId: 'billed-1',
        messageType: 'OrderBilled',
        destination: 'order-events',
        atMs: at(10_300),
        conversationId,
        attributes: { [ATTR_OUTBOX_DISPATCH]: 'true' },
      });
      return [bill, handle, billed, consume(billed, 'shipping', 10_350)];
    },
    flagged: {},
    ledger: { noLost: 'held' },
  },
  {
    // near-miss: never dispatched at all
    name: 'an outbox never dispatched is stuck once the threshold has passed',
    build: () => {
      const bill = billCustomer();
      return [bill, consume(bill, 'billing', 10, { durationMs: 400, attributes: committed(300), outgoing: ['billed-1'] })];
    },
    flagged: { 'stuck-outbox': 'error' },
    ledger: { noLost: ['violated', 'stuck-outbox'] },
    detail: { 'stuck-outbox': ["committed to billing's outbox", 'threshold 30.0 s'] },
  },
  {
    // billing committed billed-1 to its outbox and exported nothing since (the run's last work, or
    // it stalled): its dispatch may yet come, or be on the way. Not stuck: unknown, never held.
    name: 'an outbox never dispatched by a service silent since its commit is unknown, not held',
    build: () => {
      const bill = billCustomer();
      return [bill, consume(bill, 'billing', 10, { durationMs: 400, attributes: committed(300), outgoing: ['billed-1'] })];
    },
    options: { exportedUntil: new Map([['billing', at(10)]]) },
    flagged: {},
    ledger: { noLost: ['unknown', 'billing exported no span that started after'] },
  },
  {
    // near-miss: not dispatched yet, 20 s after the commit (threshold 30 s)
    name: 'an outbox not dispatched 20 s after the commit is not stuck yet',
    build: () => {
      const bill = billCustomer();
      return [bill, consume(bill, 'billing', 10, { durationMs: 400, attributes: committed(300), outgoing: ['billed-1'] })];
    },
    options: { now: at(20_300) },
    flagged: {},
    ledger: { noLost: ['unknown', 'quiet period'] },
  },
  {
    // billing #1 failed after sending OrderBilled (body A); #2 committed and sent it again with body B
    name: 'a retried attempt sending a different body under the same id is inconsistent output',
    build: () => {
      const bill = billCustomer();
      const first = consume(bill, 'billing', 10, { outcome: 'failed', error: 'timeout', durationMs: 100 });
      const second = consume(bill, 'billing', 2000, { attempt: 2, durationMs: 100 });
      return [
        bill,
        first,
        orderBilled(first, 50, { [ATTR_BODY_DIGEST]: 'sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }),
        second,
        orderBilled(second, 2050, { [ATTR_BODY_DIGEST]: 'sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' }),
      ];
    },
    flagged: { 'inconsistent-output': 'error', retry: 'warning', 'lost-message': 'error' },
    ledger: { consistentOutput: ['violated', 'inconsistent-output'] },
    detail: { 'inconsistent-output': ['sent 2× with 2 different bodies', 'sha256:aaaaaaaa by BillCustomer attempt 1'] },
  },
  {
    // near-miss: the same body both times
    name: 'a retried attempt sending the same body under the same id is consistent',
    build: () => {
      const bill = billCustomer();
      const first = consume(bill, 'billing', 10, { outcome: 'failed', error: 'timeout', durationMs: 100 });
      const second = consume(bill, 'billing', 2000, { attempt: 2, durationMs: 100 });
      const digest = { [ATTR_BODY_DIGEST]: 'sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' };
      return [bill, first, orderBilled(first, 50, digest), second, orderBilled(second, 2050, digest)];
    },
    flagged: { retry: 'warning', 'lost-message': 'error' },
    ledger: { consistentOutput: 'held' },
  },
  {
    // near-miss: no digests recorded: the bodies cannot be compared
    name: 'a message sent twice without body digests has consistent output unknown',
    build: () => {
      const bill = billCustomer();
      const first = consume(bill, 'billing', 10, { outcome: 'failed', error: 'timeout', durationMs: 100 });
      const second = consume(bill, 'billing', 2000, { attempt: 2, durationMs: 100 });
      return [bill, first, orderBilled(first, 50), second, orderBilled(second, 2050)];
    },
    flagged: { retry: 'warning', 'lost-message': 'error' },
    ledger: { consistentOutput: ['unknown', 'carry no body digest'] },
  },
  {
    // BillCustomer ─> [billing attempt: span dropped, no children, nothing else missing in the flow]
    // billing's export stream lost one span 2 s after the send (learned outside the flow)
    name: 'a dropped leaf consumer in a flow that lost nothing else: its service lost spans at export, so lost is unknown',
    build: () => [billCustomer()],
    options: { subscriptions: EVENT_SUBSCRIBERS, exportLosses: [loss('billing', 1_000, 3_000)] },
    flagged: {},
    ledger: { noLost: ['unknown', 'spans lost at export by billing (1)'], noGhost: 'held' },
  },
  {
    // near-miss: the loss is in another service (not a subscriber of BillCustomer): lost
    name: 'export losses of a service that does not consume the message leave a lost message lost',
    build: () => [billCustomer()],
    options: { subscriptions: EVENT_SUBSCRIBERS, exportLosses: [loss('shipping', 1_000, 3_000)] },
    flagged: { 'lost-message': 'error' },
    ledger: { noLost: 'violated' },
  },
  {
    // near-miss: billing lost spans, but an hour before the send: lost
    name: 'export losses outside the message time leave a lost message lost',
    build: () => [billCustomer()],
    options: { subscriptions: EVENT_SUBSCRIBERS, exportLosses: [loss('billing', -3_600_000, -3_500_000)] },
    flagged: { 'lost-message': 'error' },
    ledger: { noLost: 'violated' },
  },
  {
    // BillCustomer sent at 0; billing's latest numbered span started before it (busy with a slow handler)
    name: 'a consumer that exported nothing started after the send may still be processing: lost is unknown',
    build: () => [billCustomer()],
    options: { subscriptions: EVENT_SUBSCRIBERS, exportedUntil: new Map([['billing', at(-5_000)]]) },
    flagged: {},
    ledger: { noLost: ['unknown', 'billing exported no span that started after BillCustomer'] },
  },
  {
    // BillCustomer sent at 0 and never consumed; billing runs plain OpenTelemetry (no export
    // numbers): a dropped consumer span of its would look the same
    name: 'a consumer that does not number its spans cannot show it never got the message: lost is unknown',
    build: () => [billCustomer()],
    options: { subscriptions: EVENT_SUBSCRIBERS },
    unnumbered: ['billing'],
    flagged: {},
    ledger: { noLost: ['unknown', 'billing has no numbered spans'] },
  },
  {
    // near-miss: billing exported spans that started after the send and never got it: lost
    name: 'a consumer that went on exporting after the send shows the message never reached it',
    build: () => [billCustomer()],
    options: { subscriptions: EVENT_SUBSCRIBERS, exportedUntil: new Map([['billing', at(20_000)]]) },
    flagged: { 'lost-message': 'error' },
    ledger: { noLost: 'violated' },
  },
  {
    // OrderBilled ─┬─> shipping, marketing processed; invoicing: span dropped (invoicing lost spans)
    name: 'a usual subscriber whose span was lost at export is not a missed delivery',
    build: () => {
      const billed = send({
        service: 'billing',
        messageId: 'billed-1',
        messageType: 'OrderBilled',
        destination: 'order-events',
        atMs: at(0),
        conversationId,
      });
      return [
        billed,
        consume(billed, 'shipping', 20, { destination: 'order-events' }),
        consume(billed, 'marketing', 30, { destination: 'order-events' }),
      ];
    },
    options: { subscriptions: EVENT_SUBSCRIBERS, exportLosses: [loss('invoicing', 10, 40)] },
    flagged: {},
    ledger: { noLost: ['unknown', 'spans lost at export by invoicing (1)'] },
  },
  {
    // BillCustomer ─> billing #1 processed; billing lost a span 5 min later (a late redelivery may be it)
    name: 'a processed message whose endpoint lost spans at export since its delivery: duplicate processing unknown',
    build: () => {
      const bill = billCustomer();
      return [bill, consume(bill, 'billing', 20)];
    },
    options: { exportLosses: [loss('billing', 5 * 60_000, 5 * 60_000 + 10)] },
    flagged: {},
    ledger: { noDuplicateProcessing: ['unknown', 'a redelivery of BillCustomer'], noLost: 'held' },
  },
  {
    // BillCustomer ─> billing #1 processed; billing lost a delivery span 5 min later, named bill-1 by the next
    name: 'a delivery span of the processed message lost at export by its endpoint: duplicate processing unknown, and says whose',
    build: () => {
      const bill = billCustomer();
      return [bill, consume(bill, 'billing', 20)];
    },
    options: {
      exportLosses: [loss('billing', 5 * 60_000, 5 * 60_000 + 10)],
      entryLosses: [entryLoss('billing', 5 * 60_000, 5 * 60_000 + 10, 'bill-1')],
    },
    flagged: {},
    ledger: { noDuplicateProcessing: ['unknown', 'a delivery span of this message was lost at export by billing'], noLost: 'held' },
  },
  {
    // near-miss: the delivery span billing lost is named for another message: it cannot be bill-1's redelivery
    name: 'a lost delivery span named for another message leaves duplicate processing held',
    build: () => {
      const bill = billCustomer();
      return [bill, consume(bill, 'billing', 20)];
    },
    options: {
      exportLosses: [loss('billing', 5 * 60_000, 5 * 60_000 + 10)],
      entryLosses: [entryLoss('billing', 5 * 60_000, 5 * 60_000 + 10, 'bill-2')],
    },
    flagged: {},
    ledger: { noDuplicateProcessing: 'held', noLost: 'held' },
  },
  {
    // near-miss: billing lost spans, none of them a delivery (its entry count ran on unbroken)
    name: 'export losses of client and internal spans only leave duplicate processing held',
    build: () => {
      const bill = billCustomer();
      return [bill, consume(bill, 'billing', 20)];
    },
    options: { exportLosses: [loss('billing', 5 * 60_000, 5 * 60_000 + 10)], entryLosses: [] },
    flagged: {},
    ledger: { noDuplicateProcessing: 'held', noLost: 'held' },
  },
  {
    // near-miss: billing lost a span before the message was first delivered: held
    name: 'export losses before the first delivery leave duplicate processing held',
    build: () => {
      const bill = billCustomer();
      return [bill, consume(bill, 'billing', 20)];
    },
    options: { exportLosses: [loss('billing', -60_000, -59_000)] },
    flagged: {},
    ledger: { noDuplicateProcessing: 'held', noLost: 'held' },
  },
  {
    // BillCustomer ─> billing #2 processed (attempt 1 left no span)
    name: 'attempt numbers with holes make duplicate processing unknown',
    build: () => {
      const bill = billCustomer();
      return [bill, consume(bill, 'billing', 20, { attempt: 2 })];
    },
    flagged: {},
    ledger: { noDuplicateProcessing: ['unknown', 'attempt 1 of BillCustomer at billing/billing left no span'] },
  },
];

function analyse(spans: SpanRow[], options: Partial<FlowOptions> = {}, unnumbered: string[] = []): Flow {
  // Every service of the drawing numbers its spans and has exported up to now, unless told.
  const services = new Set([
    ...spans.map((s) => s.service),
    ...[...(options.subscriptions?.values() ?? [])].flatMap((subscribers) => [...subscribers.known.values()]),
  ]);
  const exportedUntil = new Map([...services].filter((service) => !unnumbered.includes(service)).map((service) => [service, NOW]));
  for (const [service, until] of options.exportedUntil ?? []) exportedUntil.set(service, until);
  return reconstructFlow(
    spans.map((s) => ({ ...s, conversationId: s.conversationId || conversationId })),
    { now: NOW, quietPeriodMs: QUIET, ...options, exportedUntil },
  );
}

describe.each(cases)('$name', ({ build, options, flagged, ledger, detail, unnumbered }) => {
  it('flags exactly what it should', () => {
    const flow = analyse(build(), options, unnumbered);
    for (const [kind, severity] of Object.entries(flagged) as [AnomalyKind, Severity][]) {
      const first = flow.anomalies.find((a) => a.kind === kind);
      expect(first, `${kind} expected in ${JSON.stringify(flow.anomalies)}`).toBeDefined();
      expect(first!.severity).toBe(severity);
      expect(first!.endpoint).not.toBe('');
      for (const fragment of detail?.[kind] ?? []) expect(first!.detail).toContain(fragment);
    }
    expect([...new Set(flow.anomalies.map((a) => a.kind))].sort()).toEqual(Object.keys(flagged).sort());
  });

  it('judges the invariants as drawn', () => {
    const flow = analyse(build(), options, unnumbered);
    for (const [invariant, expected] of Object.entries(ledger) as [Invariant, Verdict | [Verdict, string]][]) {
      const [verdict, fragment] = typeof expected === 'string' ? [expected, ''] : expected;
      const judged = flow.ledger[invariant];
      expect(judged.verdict, `${invariant}: ${JSON.stringify(judged)}`).toBe(verdict);
      expect(judged.reason).toContain(fragment);
      if (verdict === 'violated') expect(judged.evidence.length).toBeGreaterThan(0);
      if (verdict === 'held') expect(judged.reason).toBe('');
    }
    const verdicts = Object.values(flow.ledger).map((v) => v.verdict);
    expect(flow.verdict).toBe(verdicts.includes('violated') ? 'violated' : verdicts.includes('unknown') ? 'unknown' : 'held');
  });
});
