/**
 * Conformance cases for what trends count (issue 11): a duplicate processing counts in the
 * bucket of the repeat however far back the first processing was; one service consuming a
 * message from two queues is two endpoints, not a duplicate; retries are failed or
 * retry-scheduled attempts, a redelivery is a duplicate delivery only; ghost, lost,
 * inconsistent-output and premature-publish anomalies are counted by anomaly time.
 *
 *   minute 0 (T … T+60 s)                          minute 1 (T+60 s … T+120 s)
 *   shop ─send m-1→ order-events        @ 0:59.0
 *   q-a → billing  m-1 processed        @ 0:59.5   q-a → billing  m-1 processed @ 1:00.5  (duplicate processing,
 *   q-b → billing  m-1 processed        @ 0:59.8                                         stored in a later batch)
 *   orders → orders m-2 failed (try 1)  @ 0:10     orders → orders m-2 processed (try 2) @ 1:10
 *   q-a → billing  m-3 processed        @ 0:20     q-a → billing  m-3 duplicate (redelivered, try 2) @ 1:20
 *
 * Outbox (commit markers): the attempt lists the id it stored, commits, and a dispatcher sends it.
 *   q-a → billing  m-3 (above) commits @ 0:20.010, lists m-8; billing ─dispatch m-8→ invoices @ 0:20.110  (100 ms)
 *   orders → orders m-2 (try 2) commits @ 1:10.050, lists m-9;  orders ─dispatch m-9→ order-events @ 1:20.050 (10 s late)
 *   orders ─send m-7→ order-events @ 1:30 (listed by no attempt, not a dispatch: not counted)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ATTR_COMMITTED_AT_MS, ATTR_OUTBOX_DISPATCH } from '@onceflow/instrumentation/semconv';
import { FLOW_1 } from '../fixtures/store-fixtures.js';
import { attempt, send } from '../span-builders.js';
import type { Anomaly, FlowRecord } from '../../src/model/flow.js';
import type { SpanBucketRow, SpanStore } from '../../src/store/span-store.js';

const MINUTE = 60_000;
const T = Date.UTC(2026, 0, 16, 10, 0, 0);
const WINDOW = { fromMs: T, toMs: T + 2 * MINUTE };

const shopSend = send({
  service: 'shop',
  atMs: T + 59_000,
  messageId: 'm-1',
  messageType: 'OrderPlaced',
  destination: 'order-events',
  conversationId: 'conv-t',
});
const common = { conversationId: 'conv-t', messageType: 'OrderPlaced' } as const;
const MINUTE_0 = [
  shopSend,
  attempt({ ...common, service: 'billing', destination: 'q-a', messageId: 'm-1', atMs: T + 59_500, outcome: 'processed' }),
  attempt({ ...common, service: 'billing', destination: 'q-b', messageId: 'm-1', atMs: T + 59_800, outcome: 'processed' }),
  attempt({ ...common, service: 'orders', destination: 'orders', messageId: 'm-2', atMs: T + 10_000, outcome: 'failed', error: 'boom' }),
  attempt({
    ...common,
    service: 'billing',
    destination: 'q-a',
    messageId: 'm-3',
    atMs: T + 20_000,
    outcome: 'processed',
    outgoing: ['m-8'],
    attributes: { [ATTR_COMMITTED_AT_MS]: String(T + 20_010) },
  }),
  send({
    service: 'billing',
    atMs: T + 20_110,
    messageId: 'm-8',
    messageType: 'InvoiceRequested',
    destination: 'invoices',
    attributes: { [ATTR_OUTBOX_DISPATCH]: 'true' },
  }),
];
const MINUTE_1 = [
  attempt({ ...common, service: 'billing', destination: 'q-a', messageId: 'm-1', atMs: T + 60_500, outcome: 'processed', attempt: 2 }),
  attempt({
    ...common,
    service: 'orders',
    destination: 'orders',
    messageId: 'm-2',
    atMs: T + 70_000,
    outcome: 'processed',
    attempt: 2,
    outgoing: ['m-9'],
    attributes: { [ATTR_COMMITTED_AT_MS]: String(T + 70_050) },
  }),
  send({
    service: 'orders',
    atMs: T + 80_050,
    messageId: 'm-9',
    messageType: 'OrderAccepted',
    destination: 'order-events',
    attributes: { [ATTR_OUTBOX_DISPATCH]: 'true' },
  }),
  send({ service: 'orders', atMs: T + 90_000, messageId: 'm-7', messageType: 'OrderAccepted', destination: 'order-events' }),
  attempt({
    ...common,
    service: 'billing',
    destination: 'q-a',
    messageId: 'm-3',
    atMs: T + 80_000,
    outcome: 'duplicate',
    attempt: 2,
    redelivered: true,
  }),
];

/** One business key in two conversations, ten minutes after the windows above. */
const KEYED = ['conv-k1', 'conv-k2'].map((conversationId, i) =>
  send({
    service: 'shop',
    atMs: T + 10 * MINUTE + i,
    messageId: `k-${i}`,
    messageType: 'OrderPlaced',
    destination: 'orders',
    conversationId,
    businessKey: 'order-7',
  }),
);

const at = (kind: string, timeMs: number): Anomaly => ({
  ...FLOW_1.anomalies[0],
  conversationId: 'conv-t',
  kind: kind as Anomaly['kind'],
  timeMs,
});
const FLOW: FlowRecord = {
  ...FLOW_1,
  conversationId: 'conv-t',
  startMs: T,
  endMs: T + 80_000,
  durationMs: 80_000,
  verdict: 'violated',
  anomalies: [
    at('ghost-message', T + 10_000),
    at('duplicate-delivery', T + 20_000),
    at('lost-message', T + 70_000),
    at('inconsistent-output', T + 75_000),
    at('premature-publish', T + 80_000),
  ],
  anomalyCounts: {},
};

/** [timeMs, group, sent, processed, duplicate deliveries, duplicate processings, retries, failures] */
type Counts = [number, string, number, number, number, number, number, number];
const counts = (rows: SpanBucketRow[]): Counts[] =>
  rows.map((r) => [r.timeMs, r.group, r.sent, r.processed, r.duplicateDeliveries, r.duplicateProcessings, r.retries, r.failures]);

/** Registers the cases; `freshStore` returns an initialised empty store, `settle` waits for its writes. */
export function trendCountCases<S extends SpanStore>(
  freshStore: () => Promise<S>,
  settle: (store: S) => Promise<void>,
  dispose: (store: S | undefined) => Promise<void>,
): void {
  let store: S | undefined;
  beforeAll(async () => {
    store = await freshStore();
    await store.insertSpans(MINUTE_0);
    // The repeat arrives in a later batch, as exporters send it.
    await store.insertSpans(MINUTE_1);
    await store.insertSpans(KEYED);
    await store.saveFlows([FLOW]);
    await settle(store);
  });
  afterAll(async () => {
    await dispose(store);
  });

  it('counts a duplicate processing a minute apart in the bucket of the repeat; two queues of one service are two endpoints; a redelivery is no retry', async () => {
    expect(counts(await store!.spanBuckets(WINDOW, MINUTE, 'endpoint'))).toEqual([
      [T, '', 2, 3, 0, 0, 1, 1],
      [T, 'billing', 1, 0, 0, 0, 0, 0],
      [T, 'billing/q-a', 0, 2, 0, 0, 0, 0],
      [T, 'billing/q-b', 0, 1, 0, 0, 0, 0],
      [T, 'orders/orders', 0, 0, 0, 0, 1, 1],
      [T, 'shop', 1, 0, 0, 0, 0, 0],
      [T + MINUTE, '', 2, 2, 1, 1, 0, 0],
      [T + MINUTE, 'billing/q-a', 0, 1, 1, 1, 0, 0],
      [T + MINUTE, 'orders', 2, 0, 0, 0, 0, 0],
      [T + MINUTE, 'orders/orders', 0, 1, 0, 0, 0, 0],
    ]);
  });

  it.each([
    ['a window that starts after the first processing', { fromMs: T + MINUTE, toMs: T + 2 * MINUTE }, MINUTE, T + MINUTE],
    ['a step that is not whole minutes', WINDOW, 30_000, T + MINUTE],
    ['a window over an hour long', { fromMs: T - 2 * 60 * MINUTE, toMs: T + 2 * MINUTE }, MINUTE, T + MINUTE],
  ])('counts the repeat in %s', async (_label, window, step, bucket) => {
    const rows = await store!.spanBuckets(window, step, 'service');
    const totals = rows.filter((r) => r.group === '');
    expect(totals.map((r) => [r.timeMs, r.duplicateProcessings]).filter(([, d]) => d > 0)).toEqual([[bucket, 1]]);
    expect(rows.find((r) => r.group === 'billing' && r.timeMs === bucket)!.duplicateProcessings).toBe(1);
  });

  it.each([
    ['the whole window', WINDOW],
    ['a window that starts after the first processing', { fromMs: T + MINUTE, toMs: T + 2 * MINUTE }],
  ])('keeps one consume edge per queue of a service, with the repeat on its queue (%s)', async (_label, window) => {
    const consumes = (await store!.edgeAggregates(window)).filter((e) => e.kind === 'consume');
    const summary = consumes.map((e) => [e.source, e.target, e.duplicateProcessings, e.duplicates, e.retries]);
    const whole = window.fromMs === T;
    expect(summary).toEqual([
      ['orders', 'orders', 0, 0, whole ? 1 : 0],
      ['q-a', 'billing', 1, 1, 0],
      ...(whole ? [['q-b', 'billing', 0, 0, 0]] : []),
    ]);
  });

  it.each([
    ['up to an hour', WINDOW],
    ['over an hour', { fromMs: T - 2 * 60 * MINUTE, toMs: T + 2 * MINUTE }],
  ])('measures outbox dispatch latency from the commit of the attempt that listed the id to the dispatch (%s)', async (_label, window) => {
    const rows = await store!.spanBuckets(window, MINUTE, 'service');
    const outbox = rows
      .filter((r) => r.outboxDispatchP50Ms !== null)
      .map((r) => [r.timeMs, r.group, r.outboxDispatchP50Ms, r.outboxDispatchP99Ms]);
    expect(outbox).toEqual([
      [T, '', 100, 100],
      [T, 'billing', 100, 100],
      [T + MINUTE, '', 10_000, 10_000],
      [T + MINUTE, 'orders', 10_000, 10_000],
    ]);
    expect(rows.filter((r) => r.group === 'shop').every((r) => r.outboxDispatchP99Ms === null)).toBe(true);
  });

  it('returns the spans of one business key across conversations', async () => {
    expect((await store!.spansOfBusinessKeys(['order-7'], 10)).get('order-7')!.map((s) => [s.conversationId, s.messageId])).toEqual([
      ['conv-k1', 'k-0'],
      ['conv-k2', 'k-1'],
    ]);
  });

  it('counts ghost, lost, inconsistent-output and premature-publish anomalies in the bucket of their time', async () => {
    const rows = await store!.flowBuckets(WINDOW, MINUTE);
    expect(
      rows.map((r) => [r.timeMs, r.flowsCompleted, r.ghostMessages, r.lostMessages, r.inconsistentOutputs, r.prematurePublishes]),
    ).toEqual([
      [T, 1, 1, 0, 0, 0],
      [T + MINUTE, 0, 0, 1, 1, 1],
    ]);
    expect(rows[1].flowCompletionP50Ms).toBeNull();
  });

  it('counts flows by their ledger verdict, by flow start', async () => {
    const rows = await store!.flowBuckets(WINDOW, MINUTE);
    expect(rows.map((r) => [r.timeMs, r.flowsHeld, r.flowsViolated, r.flowsUnknown])).toEqual([
      [T, 0, 1, 0],
      [T + MINUTE, 0, 0, 0],
    ]);
  });
}
