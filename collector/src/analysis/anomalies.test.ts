/**
 * Every anomaly kind, and the near-misses that must not be flagged, as small drawn flows.
 * Times are offsets in ms from T0; flows end long before NOW (quiet period passed) unless a
 * case says otherwise.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { AnomalyKind, Flow, Severity } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { attempt, payloadFetch, resetSpanIds, send } from '../../test/span-builders.js';
import { reconstructFlow } from './reconstruct-flow.js';

const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const QUIET = 60_000;
const NOW = T0 + 10 * 60_000;
const at = (offsetMs: number) => T0 + offsetMs;
const conversationId = 'conv-test';

beforeEach(() => resetSpanIds());

function analyse(spans: SpanRow[], now = NOW): Flow {
  return reconstructFlow(
    spans.map((s) => ({ ...s, conversationId: s.conversationId || conversationId })),
    { now, quietPeriodMs: QUIET },
  );
}

/** billing's BillCustomer send, the parent of most attempts below. */
function billCustomer(id = 'bill-1', offsetMs = 0): SpanRow {
  return send({
    service: 'orders',
    messageId: id,
    messageType: 'BillCustomer',
    destination: 'billing',
    atMs: at(offsetMs),
    conversationId,
  });
}

/** A consume of an already-sent message in a new trace (a broker redelivery or delayed retry). */
function redelivery(of: SpanRow, service: string, spec: Partial<Parameters<typeof attempt>[0]> & { atMs: number }) {
  return attempt({
    service,
    messageId: of.messageId,
    messageType: of.messageType,
    causationId: of.causationId,
    destination: of.destination,
    conversationId,
    ...spec,
  });
}

interface Case {
  name: string;
  build: () => SpanRow[];
  now?: number;
  /** Kinds that must be present, with the severity of the first of each. */
  flagged: Partial<Record<AnomalyKind, Severity>>;
  /** Kinds that must be absent. */
  notFlagged: AnomalyKind[];
  /** Fragments the detail of the first anomaly of each flagged kind must contain. */
  detail?: Partial<Record<AnomalyKind, string[]>>;
}

const cases: Case[] = [
  {
    // orders ─ BillCustomer ─> billing #1 processed
    //          (new trace)      billing #2 duplicate   (ack lost, inbox skipped it)
    name: 'healthy duplicate delivery is not duplicate processing',
    build: () => {
      const bill = billCustomer();
      return [
        bill,
        attempt({ parent: bill, service: 'billing', outcome: 'processed', atMs: at(20) }),
        redelivery(bill, 'billing', { attempt: 2, redelivered: true, outcome: 'duplicate', atMs: at(3220) }),
      ];
    },
    flagged: { 'duplicate-delivery': 'info' },
    notFlagged: ['duplicate-processing', 'retry', 'lost-message'],
    detail: { 'duplicate-delivery': ['BillCustomer delivered 2× to billing', 'attempts 1 and 2', '3.2 s apart', 'deduplication worked'] },
  },
  {
    // orders ─ BillCustomer ─> billing #1 processed
    //          (new trace)      billing #2 processed   (inbox missed the redelivery)
    name: 'two processed outcomes for one key are duplicate processing',
    build: () => {
      const bill = billCustomer();
      return [
        bill,
        attempt({ parent: bill, service: 'billing', outcome: 'processed', atMs: at(20) }),
        redelivery(bill, 'billing', { attempt: 2, outcome: 'processed', atMs: at(3220) }),
      ];
    },
    flagged: { 'duplicate-processing': 'error', 'duplicate-delivery': 'warning' },
    notFlagged: ['retry'],
    detail: { 'duplicate-processing': ['BillCustomer processed 2× by billing', 'attempts 1 and 2', '3.2 s apart'] },
  },
  {
    // billing ─ OrderBilled ─> shipping #1 processed
    //                      └─> marketing #1 processed   (one event, two endpoints)
    name: 'an event processed once by each subscriber is not a duplicate',
    build: () => {
      const billed = send({ service: 'billing', messageId: 'billed-1', messageType: 'OrderBilled', atMs: at(0), conversationId });
      return [
        billed,
        attempt({ parent: billed, service: 'shipping', outcome: 'processed', atMs: at(20) }),
        attempt({ parent: billed, service: 'marketing', outcome: 'processed', atMs: at(25) }),
      ];
    },
    flagged: {},
    notFlagged: ['duplicate-delivery', 'duplicate-processing'],
  },
  {
    // BillCustomer ─> billing #1 retry_scheduled "timeout" (delay 1 s)
    //   (new trace)   billing #2 failed "timeout"          (error only in an exception event)
    //   (new trace)   billing #3 processed
    name: 'failed attempts before a success are a retry, not a dead letter',
    build: () => {
      const bill = billCustomer();
      return [
        bill,
        attempt({
          parent: bill,
          service: 'billing',
          outcome: 'retry_scheduled',
          error: 'payment provider timeout',
          retryDelayMs: 1000,
          atMs: at(20),
        }),
        redelivery(bill, 'billing', {
          attempt: 2,
          outcome: 'failed',
          error: 'payment provider timeout',
          errorInEventOnly: true,
          atMs: at(1100),
        }),
        redelivery(bill, 'billing', { attempt: 3, outcome: 'processed', atMs: at(3200) }),
      ];
    },
    flagged: { retry: 'warning' },
    notFlagged: ['dead-letter', 'duplicate-delivery', 'duplicate-processing'],
    detail: {
      retry: ['attempt 3 after 2 failed', '#1 retry_scheduled "payment provider timeout" (retry in 1.0 s)', '#2 failed', '#3 processed'],
    },
  },
  {
    // BillCustomer ─> billing #2 processed   (attempt 1 left no span: it may have processed it too)
    name: 'a success on attempt 2 with no earlier span is not judged a retry (the ledger says unknown)',
    build: () => {
      const bill = billCustomer();
      return [bill, attempt({ parent: bill, service: 'billing', attempt: 2, outcome: 'processed', atMs: at(20) })];
    },
    flagged: {},
    notFlagged: ['retry', 'duplicate-delivery', 'dead-letter'],
  },
  {
    // BillCustomer ─> billing #1 retry_scheduled "card declined"
    //   (new trace)   billing #2 dead_lettered "card declined"
    name: 'a dead letter is not lost and not a retry',
    build: () => {
      const bill = billCustomer();
      return [
        bill,
        attempt({ parent: bill, service: 'billing', outcome: 'retry_scheduled', error: 'card declined', atMs: at(20) }),
        redelivery(bill, 'billing', { attempt: 2, outcome: 'dead_lettered', error: 'card declined', atMs: at(2000) }),
      ];
    },
    flagged: { 'dead-letter': 'error' },
    notFlagged: ['lost-message', 'retry'],
    detail: { 'dead-letter': ['BillCustomer dead-lettered by billing after 2 attempts', 'card declined'] },
  },
  {
    // BillCustomer ─> billing #1 failed "deadlock"
    //                   └─ OrderBilled ─> shipping #1 processed   (published before the failed commit)
    name: 'a message sent by an attempt that failed, then consumed, is a ghost',
    build: () => {
      const bill = billCustomer();
      const failed = attempt({
        parent: bill,
        service: 'billing',
        outcome: 'failed',
        error: 'deadlock detected',
        atMs: at(20),
        durationMs: 200,
      });
      const billed = send({ parent: failed, messageId: 'billed-1', messageType: 'OrderBilled', atMs: at(50) });
      return [bill, failed, billed, attempt({ parent: billed, service: 'shipping', outcome: 'processed', atMs: at(80) })];
    },
    flagged: { 'ghost-message': 'error' },
    notFlagged: ['lost-message'],
    detail: { 'ghost-message': ['OrderBilled was sent by billing', 'BillCustomer attempt 1', 'deadlock detected', 'shipping consumed it'] },
  },
  {
    // BillCustomer ─> billing #1 (no outcome, status error)
    //                   └─ OrderBilled ─> shipping #1 processed
    // An error status without an outcome may come after the commit: no ghost is claimed.
    name: 'no ghost is claimed when the failed attempt recorded no outcome, only an error status',
    build: () => {
      const bill = billCustomer();
      const failed = attempt({ parent: bill, service: 'billing', error: 'boom', atMs: at(20), durationMs: 200 });
      const billed = send({ parent: failed, messageId: 'billed-1', messageType: 'OrderBilled', atMs: at(50) });
      return [bill, failed, billed, attempt({ parent: billed, service: 'shipping', outcome: 'processed', atMs: at(80) })];
    },
    flagged: {},
    notFlagged: ['ghost-message', 'lost-message'],
  },
  {
    // BillCustomer ─> billing #1 (no outcome, status error: nack with requeue)
    //                 billing #2 (no outcome, redelivered)
    name: 'an endpoint without outcomes: a redelivery is a duplicate delivery (warning, processing unknown) and a retry, never a duplicate processing',
    build: () => {
      const bill = billCustomer();
      return [
        bill,
        attempt({ parent: bill, service: 'billing', error: 'nack called on message with requeue', atMs: at(20) }),
        attempt({ parent: bill, service: 'billing', atMs: at(900) }),
      ];
    },
    flagged: { 'duplicate-delivery': 'warning', retry: 'warning' },
    notFlagged: ['duplicate-processing', 'ghost-message', 'lost-message'],
    detail: { 'duplicate-delivery': ['delivered 2× to billing', 'records no outcomes', 'unknown'] },
  },
  {
    // (attempt not in the flow, e.g. NServiceBus's handler activity between) └─ OrderBilled(causation bill-1) ─> (nobody)
    name: 'a send made by an attempt the flow cannot see (causation id, no attempt above) is not claimed lost',
    build: () => [
      send({ service: 'billing', messageId: 'billed-1', messageType: 'OrderBilled', causationId: 'bill-1', atMs: at(50), conversationId }),
    ],
    flagged: {},
    notFlagged: ['lost-message'],
  },
  {
    // BillCustomer ─> billing #1 (no outcome)  └─ OrderBilled ─> (nobody)     quiet period passed
    name: 'a message sent by an attempt that recorded no outcome and never delivered is not claimed lost',
    build: () => {
      const bill = billCustomer();
      const handled = attempt({ parent: bill, service: 'billing', atMs: at(20), durationMs: 200 });
      return [bill, handled, send({ parent: handled, messageId: 'billed-1', messageType: 'OrderBilled', atMs: at(50) })];
    },
    flagged: {},
    notFlagged: ['lost-message', 'ghost-message', 'duplicate-delivery'],
  },
  {
    // BillCustomer ─> billing #1 failed                 └─ OrderBilled(billed-1)
    //   (new trace)   billing #2 processed              └─ OrderBilled(billed-1)   (deterministic id)
    //                 shipping #1 processed, #2 duplicate
    name: 'a message re-sent with the same id by the committed retry is not a ghost',
    build: () => {
      const bill = billCustomer();
      const failed = attempt({ parent: bill, service: 'billing', outcome: 'failed', error: 'timeout', atMs: at(20), durationMs: 200 });
      const first = send({ parent: failed, messageId: 'billed-1', messageType: 'OrderBilled', atMs: at(50) });
      const retry = redelivery(bill, 'billing', { attempt: 2, outcome: 'processed', atMs: at(1000) });
      const second = send({ parent: retry, messageId: 'billed-1', messageType: 'OrderBilled', atMs: at(1050) });
      return [
        bill,
        failed,
        first,
        retry,
        second,
        attempt({ parent: first, service: 'shipping', outcome: 'processed', atMs: at(80) }),
        attempt({ parent: second, service: 'shipping', attempt: 1, outcome: 'duplicate', atMs: at(1100) }),
      ];
    },
    flagged: { retry: 'warning', 'duplicate-delivery': 'info' },
    notFlagged: ['ghost-message', 'logical-duplicate', 'duplicate-processing'],
  },
  {
    // BillCustomer ─> billing #1 failed  └─ OrderBilled (never delivered: rolled back with it)
    name: 'a message only a failed attempt sent, never delivered, is neither ghost nor lost',
    build: () => {
      const bill = billCustomer();
      const failed = attempt({ parent: bill, service: 'billing', outcome: 'failed', error: 'x', atMs: at(20), durationMs: 200 });
      return [bill, failed, send({ parent: failed, messageId: 'billed-1', messageType: 'OrderBilled', atMs: at(50) })];
    },
    flagged: {},
    notFlagged: ['ghost-message', 'lost-message'],
  },
  {
    // orders ─ BillCustomer ─> (nobody)          quiet period passed
    name: 'a sent message never delivered after the quiet period is lost',
    build: () => [billCustomer()],
    flagged: { 'lost-message': 'error' },
    notFlagged: [],
    detail: { 'lost-message': ['BillCustomer sent by orders to billing was never delivered', 'quiet period 1.0 min passed'] },
  },
  {
    // orders ─ BillCustomer ─> (nobody)          sent 5 s before now
    name: 'a flow still in progress is not lost until its quiet period has passed',
    build: () => [billCustomer('bill-1', 10 * 60_000 - 5000)],
    flagged: {},
    notFlagged: ['lost-message'],
  },
  {
    // SubmitOrder ─> orders #1 processed, outgoing [bill-1]    (outbox never dispatched)
    name: 'an outgoing id of a committed attempt that was never sent is lost',
    build: () => {
      const submit = send({ service: 'shop-api', messageId: 'submit-1', messageType: 'SubmitOrder', atMs: at(0), conversationId });
      return [submit, attempt({ parent: submit, service: 'orders', outcome: 'processed', outgoing: ['bill-1'], atMs: at(20) })];
    },
    flagged: { 'lost-message': 'error' },
    notFlagged: ['ghost-message'],
    detail: { 'lost-message': ['recorded as outgoing by orders', 'outbox was not dispatched'] },
  },
  {
    // SubmitOrder ─> orders #1 failed, outgoing [bill-1]     (the outbox rows rolled back)
    name: 'an outgoing id of a failed attempt is not expected to be delivered',
    build: () => {
      const submit = send({ service: 'shop-api', messageId: 'submit-1', messageType: 'SubmitOrder', atMs: at(0), conversationId });
      return [submit, attempt({ parent: submit, service: 'orders', outcome: 'failed', error: 'x', outgoing: ['bill-1'], atMs: at(20) })];
    },
    flagged: {},
    notFlagged: ['lost-message', 'ghost-message'],
  },
  {
    // invoicing ─ InvoiceIssued (2.4 MB → blob://inv/1) ─> shipping #1 processed
    //                                                         └─ blob get blob://inv/1
    name: 'an offload read back by its consumer',
    build: () => {
      const invoice = send({
        service: 'invoicing',
        messageId: 'inv-1',
        messageType: 'InvoiceIssued',
        payload: { bytes: 2_400_000, ref: 'blob://inv/1' },
        atMs: at(0),
        conversationId,
      });
      const consume = attempt({ parent: invoice, service: 'shipping', outcome: 'processed', atMs: at(30), durationMs: 100 });
      return [invoice, consume, payloadFetch({ parent: consume, ref: 'blob://inv/1', atMs: at(40) })];
    },
    flagged: { offload: 'info' },
    notFlagged: [],
    detail: { offload: ['InvoiceIssued payload offloaded by invoicing', '2.4 MB', 'blob://inv/1', 'read back by shipping'] },
  },
  {
    // invoicing ─ InvoiceIssued (offloaded) ─> shipping #1 processed   (never fetched the blob)
    name: 'an offload nobody read says so',
    build: () => {
      const invoice = send({
        service: 'invoicing',
        messageId: 'inv-1',
        messageType: 'InvoiceIssued',
        payload: { bytes: 900, ref: 'blob://inv/1' },
        atMs: at(0),
        conversationId,
      });
      return [invoice, attempt({ parent: invoice, service: 'shipping', outcome: 'processed', atMs: at(30) })];
    },
    flagged: { offload: 'info' },
    notFlagged: [],
    detail: { offload: ['never read by any consumer'] },
  },
  {
    // (producer not instrumented) ─ InvoiceIssued (offloaded) ─> shipping #1 processed
    name: 'an offload seen only at its consumer concerns the consumer',
    build: () => [
      attempt({
        service: 'shipping',
        messageId: 'inv-1',
        messageType: 'InvoiceIssued',
        payload: { bytes: 10, ref: 'blob://inv/1' },
        outcome: 'processed',
        atMs: at(0),
        conversationId,
      }),
    ],
    flagged: { offload: 'info' },
    notFlagged: [],
    detail: { offload: ['InvoiceIssued payload offloaded (10 B, ref blob://inv/1)'] },
  },
  {
    // BillCustomer ─> billing #1 processed └─ OrderBilled(a) ─> shipping
    //   (new trace)   billing #2 duplicate └─ OrderBilled(b) ─> shipping   (fresh random id)
    name: 'same type and causation with a new id from another attempt is a logical duplicate',
    build: () => {
      const bill = billCustomer();
      const first = attempt({ parent: bill, service: 'billing', outcome: 'processed', atMs: at(20), durationMs: 100 });
      const a = send({ parent: first, messageId: 'billed-a', messageType: 'OrderBilled', atMs: at(50) });
      const again = redelivery(bill, 'billing', { attempt: 2, outcome: 'duplicate', atMs: at(2000), durationMs: 50 });
      const b = send({ parent: again, messageId: 'billed-b', messageType: 'OrderBilled', atMs: at(2010) });
      return [
        bill,
        first,
        a,
        again,
        b,
        attempt({ parent: a, service: 'shipping', outcome: 'processed', atMs: at(80) }),
        attempt({ parent: b, service: 'shipping', outcome: 'processed', atMs: at(2040) }),
      ];
    },
    flagged: { 'logical-duplicate': 'error', 'duplicate-delivery': 'info' },
    notFlagged: ['duplicate-processing'],
    detail: { 'logical-duplicate': ['OrderBilled produced again by billing', 'billed-a by attempt 1', 'billed-b by attempt 2'] },
  },
  {
    // BillCustomer(1) ─> billing #1 processed └─ OrderBilled(a) ─> shipping
    // BillCustomer(2) ─> billing #1 processed └─ OrderBilled(b) ─> shipping   (different causation)
    name: 'same type with different causations is not a logical duplicate',
    build: () => {
      const spans: SpanRow[] = [];
      for (const n of [1, 2]) {
        const bill = billCustomer(`bill-${n}`, n * 100);
        const handle = attempt({ parent: bill, service: 'billing', outcome: 'processed', atMs: at(n * 100 + 10) });
        const billed = send({ parent: handle, messageId: `billed-${n}`, messageType: 'OrderBilled', atMs: at(n * 100 + 20) });
        spans.push(bill, handle, billed, attempt({ parent: billed, service: 'shipping', outcome: 'processed', atMs: at(n * 100 + 30) }));
      }
      return spans;
    },
    flagged: {},
    notFlagged: ['logical-duplicate'],
  },
  {
    // OrderBilled ─> shipping #1 processed └─ ShipParcel(p1), ShipParcel(p2)   (split shipment, one attempt)
    name: 'two messages of one type from the same attempt are not a logical duplicate',
    build: () => {
      const billed = send({ service: 'billing', messageId: 'billed-1', messageType: 'OrderBilled', atMs: at(0), conversationId });
      const handle = attempt({ parent: billed, service: 'shipping', outcome: 'processed', atMs: at(10), durationMs: 50 });
      const spans = [billed, handle];
      for (const id of ['parcel-1', 'parcel-2']) {
        const parcel = send({ parent: handle, messageId: id, messageType: 'ShipParcel', atMs: at(20) });
        spans.push(parcel, attempt({ parent: parcel, service: 'warehouse', outcome: 'processed', atMs: at(40) }));
      }
      return spans;
    },
    flagged: {},
    notFlagged: ['logical-duplicate'],
  },
  {
    // order-7: OrderBilled  sent 0    ─> marketing processed at 900
    //          OrderShipped sent 100  ─> marketing processed at 300   (overtook it)
    name: 'a message processed before one sent earlier for the same business key is out of order',
    build: () => {
      const billed = send({
        service: 'billing',
        messageId: 'billed-1',
        messageType: 'OrderBilled',
        businessKey: 'order-7',
        atMs: at(0),
        conversationId,
      });
      const shipped = send({
        service: 'shipping',
        messageId: 'shipped-1',
        messageType: 'OrderShipped',
        businessKey: 'order-7',
        atMs: at(100),
        conversationId,
      });
      return [
        billed,
        shipped,
        attempt({ parent: shipped, service: 'marketing', outcome: 'processed', atMs: at(300) }),
        attempt({ parent: billed, service: 'marketing', outcome: 'processed', atMs: at(900) }),
      ];
    },
    flagged: { 'out-of-order': 'warning' },
    notFlagged: [],
    detail: { 'out-of-order': ['OrderShipped was processed by marketing 600 ms before OrderBilled', 'sent 100 ms earlier', 'order-7'] },
  },
  {
    // order-7: OrderBilled sent 0 ─> marketing at 300;  order-8: OrderShipped sent 100 ─> marketing at 200
    name: 'reordering across different business keys is not out of order',
    build: () => {
      const billed = send({
        service: 'billing',
        messageId: 'billed-1',
        messageType: 'OrderBilled',
        businessKey: 'order-7',
        atMs: at(0),
        conversationId,
      });
      const shipped = send({
        service: 'shipping',
        messageId: 'shipped-1',
        messageType: 'OrderShipped',
        businessKey: 'order-8',
        atMs: at(100),
        conversationId,
      });
      return [
        billed,
        shipped,
        attempt({ parent: shipped, service: 'marketing', outcome: 'processed', atMs: at(200) }),
        attempt({ parent: billed, service: 'marketing', outcome: 'processed', atMs: at(300) }),
      ];
    },
    flagged: {},
    notFlagged: ['out-of-order'],
  },
  {
    // order-7: OrderBilled sent 0 ─> marketing at 200; OrderShipped sent 100 ─> marketing at 300
    name: 'processing in send order is not out of order',
    build: () => {
      const billed = send({
        service: 'billing',
        messageId: 'billed-1',
        messageType: 'OrderBilled',
        businessKey: 'order-7',
        atMs: at(0),
        conversationId,
      });
      const shipped = send({
        service: 'shipping',
        messageId: 'shipped-1',
        messageType: 'OrderShipped',
        businessKey: 'order-7',
        atMs: at(100),
        conversationId,
      });
      return [
        billed,
        shipped,
        attempt({ parent: billed, service: 'marketing', outcome: 'processed', atMs: at(200) }),
        attempt({ parent: shipped, service: 'marketing', outcome: 'processed', atMs: at(300) }),
      ];
    },
    flagged: {},
    notFlagged: ['out-of-order'],
  },
];

describe.each(cases)('$name', ({ build, now, flagged, notFlagged, detail }) => {
  it('flags exactly what it should', () => {
    const flow = analyse(build(), now);
    const kinds = new Set(flow.anomalies.map((a) => a.kind));
    for (const [kind, severity] of Object.entries(flagged) as [AnomalyKind, Severity][]) {
      const first = flow.anomalies.find((a) => a.kind === kind);
      expect(first, `${kind} expected in ${JSON.stringify(flow.anomalies)}`).toBeDefined();
      expect(first!.severity).toBe(severity);
      for (const fragment of detail?.[kind] ?? []) expect(first!.detail).toContain(fragment);
    }
    for (const kind of notFlagged) expect(kinds.has(kind), `${kind} must not be flagged`).toBe(false);
    expect([...kinds].sort()).toEqual(Object.keys(flagged).sort());
  });

  it('gives every anomaly a message, service, time and one-line detail', () => {
    for (const a of analyse(build(), now).anomalies) {
      expect(a.messageId).not.toBe('');
      expect(a.service).not.toBe('');
      expect(a.conversationId).toBe(conversationId);
      expect(a.timeMs).toBeGreaterThan(T0 - 1);
      expect(a.detail).not.toMatch(/\n/);
    }
  });
});
