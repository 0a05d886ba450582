/**
 * Aggregates and flow records of the ClickHouse store on the real server, on a small drawn flow
 * whose figures are counted by hand. The whole batch is inserted twice: every figure must
 * still count each span once.
 *
 *   t0      shop-api  send SubmitOrder m1 → orders
 *   t0+10   orders    attempt 1 processed        (queue 10 ms, 4 ms)
 *   t0+20   orders    attempt 2 processed        (duplicate processing, retry; 8 ms)
 *   t0+30   orders    attempt 3 duplicate        (retry; 2 ms)
 *   t0+40   orders    send OrderBilled m2 → billing (offloaded, 5000 bytes)
 *   t0+60   billing   attempt 1 failed           (queue 20 ms)
 *   t0+70   billing   http client → payments.example
 */
import { CLICKHOUSE_URL, requireClickHouse } from '@onceflow/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attempt, httpClient, resetSpanIds, send } from '../../../test/span-builders.js';
import type { FlowRecord } from '../../model/flow.js';
import type { EdgeAggregateRow, SpanBucketRow } from '../span-store.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { testDatabaseName } from '../../../test/store/test-database.js';

const ok = await requireClickHouse();

describe.skipIf(!ok)('ClickHouseStore aggregates on a real server', () => {
  const store = new ClickHouseStore({ url: CLICKHOUSE_URL, database: testDatabaseName() });
  const t0 = Date.UTC(2026, 0, 15, 12, 0, 0);
  const window = { fromMs: t0, toMs: t0 + 60_000 };

  beforeAll(async () => {
    resetSpanIds();
    await store.init();
    const conversationId = 'conv-agg';
    const m1 = send({ service: 'shop-api', messageId: 'm1', messageType: 'SubmitOrder', destination: 'orders', atMs: t0, conversationId });
    const spans = [
      m1,
      attempt({ parent: m1, service: 'orders', outcome: 'processed', attempt: 1, atMs: t0 + 10, durationMs: 4 }),
      attempt({ parent: m1, service: 'orders', outcome: 'processed', attempt: 2, atMs: t0 + 20, durationMs: 8 }),
      attempt({ parent: m1, service: 'orders', outcome: 'duplicate', attempt: 3, atMs: t0 + 30, durationMs: 2 }),
    ];
    const m2 = send({
      parent: spans[1],
      messageId: 'm2',
      messageType: 'OrderBilled',
      destination: 'billing',
      atMs: t0 + 40,
      payload: { bytes: 5000, ref: 'blob://m2' },
    });
    const billing = attempt({ parent: m2, service: 'billing', outcome: 'failed', error: 'card declined', atMs: t0 + 60 });
    spans.push(m2, billing, httpClient({ parent: billing, service: 'billing', url: 'https://payments.example/charge', atMs: t0 + 70 }));
    await store.insertSpans(spans);
    await store.insertSpans(spans);
  });

  afterAll(async () => {
    await store.dropDatabase();
    await store.close();
  });

  it('counts spans once', async () => {
    expect(await store.spanCount()).toBe(7);
  });

  it('buckets trend figures per service with totals', async () => {
    const rows = await store.spanBuckets(window, 60_000, 'service');
    const total = rows.find((row) => row.group === '');
    const orders = rows.find((row) => row.group === 'orders');
    expect(rows.map((row) => row.group).sort()).toEqual(['', 'billing', 'orders', 'shop-api']);
    expect(total).toMatchObject({
      timeMs: t0,
      sent: 2,
      processed: 2,
      duplicateDeliveries: 1,
      duplicateProcessings: 1,
      // The failed billing attempt; the redeliveries of m1 (attempts 2, 3) are no retries.
      retries: 1,
      failures: 1,
      deadLetters: 0,
      offloads: 1,
      offloadedBytes: 5000,
    });
    // Processing durations 2, 2, 4, 8 ms: p50 interpolates to 3, p95 to 7.4.
    expect(total?.processingP50Ms).toBeCloseTo(3, 6);
    expect(total?.processingP95Ms).toBeCloseTo(7.4, 6);
    // Queue latencies 10, 20, 30 (m1) and 20 (m2) ms.
    expect(total?.queueLatencyP50Ms).toBeCloseTo(20, 6);
    expect(orders).toMatchObject({ sent: 1, processed: 2, duplicateProcessings: 1, retries: 0 });
    const shop = rows.find((row) => row.group === 'shop-api');
    expect(shop?.processingP50Ms).toBeNull();
  });

  it('reports activity, top keys and edges', async () => {
    const activity = await store.activityBuckets(window, 60_000);
    const zeros = { duplicateDeliveries: 0, duplicateProcessings: 0, retries: 0, failures: 0, deadLetters: 0 };
    expect(activity).toEqual([
      { timeMs: t0, service: 'billing', destination: 'billing', messageType: 'OrderBilled', attempts: 1, ...zeros, retries: 1 },
      {
        timeMs: t0,
        service: 'orders',
        destination: 'orders',
        messageType: 'SubmitOrder',
        attempts: 3,
        ...zeros,
        duplicateDeliveries: 1,
        duplicateProcessings: 1,
      },
    ]);
    const orders = { service: 'orders', destination: 'orders', messageType: 'SubmitOrder' };
    expect(await store.topKeys(window, orders, 'duplicate-delivery', 5)).toEqual([{ messageId: 'm1', count: 1 }]);
    expect(await store.topKeys(window, orders, 'duplicate-processing', 5)).toEqual([{ messageId: 'm1', count: 1 }]);
    expect(await store.topKeys(window, orders, 'retry', 5)).toEqual([]);
    expect(await store.topKeys(window, { service: 'billing', destination: 'billing', messageType: 'OrderBilled' }, 'retry', 5)).toEqual([
      { messageId: 'm2', count: 1 },
    ]);

    const edges = await store.edgeAggregates(window);
    const byId = Object.fromEntries(edges.map((edge) => [`${edge.kind}:${edge.source}->${edge.target}`, edge]));
    expect(Object.keys(byId).sort()).toEqual([
      'consume:billing->billing',
      'consume:orders->orders',
      'http:billing->payments.example',
      'send:orders->billing',
      'send:shop-api->orders',
    ]);
    expect(byId['consume:orders->orders']).toMatchObject({
      messageTypes: ['SubmitOrder'],
      count: 3,
      duplicates: 1,
      duplicateProcessings: 1,
      retries: 0,
      errors: 0,
    });
    expect(byId['consume:billing->billing']).toMatchObject({ count: 1, errors: 1 });
  });

  it.each([
    ['whole minutes (rollup table)', 0, 60_000],
    ['partial minutes at both ends (spans)', 5, 50],
  ])('reads the same figures from the rollup over %s', async (_label, fromOffsetMs, toOffsetMs) => {
    const rollup = new ClickHouseStore({ url: CLICKHOUSE_URL, database: store.database, rollupAfterMs: 0 });
    const w = { fromMs: t0 + fromOffsetMs, toMs: t0 + toOffsetMs };
    try {
      const counts = ({
        processingP50Ms,
        processingP95Ms,
        processingP99Ms,
        queueLatencyP50Ms,
        queueLatencyP95Ms,
        queueLatencyP99Ms,
        ...rest
      }: SpanBucketRow) => rest;
      const raw = await store.spanBuckets(w, 60_000, 'messageType');
      const rolled = await rollup.spanBuckets(w, 60_000, 'messageType');
      expect(raw.length).toBeGreaterThan(0);
      expect(rolled.map(counts)).toEqual(raw.map(counts));
      rolled.forEach((row, i) => {
        // t-digest is approximate: each quantile lies within the exact sample's range.
        expect(row.processingP50Ms === null).toBe(raw[i].processingP50Ms === null);
        expect(row.queueLatencyP50Ms === null).toBe(raw[i].queueLatencyP50Ms === null);
        if (row.processingP99Ms !== null) expect(row.processingP99Ms).toBeLessThanOrEqual(8 + 1e-6);
      });
      expect(await rollup.activityBuckets(w, 60_000)).toEqual(await store.activityBuckets(w, 60_000));
      const withoutLatency = (edges: EdgeAggregateRow[]) => edges.map(({ latencyP50Ms, latencyP95Ms, latencyP99Ms, ...rest }) => rest);
      expect(withoutLatency(await rollup.edgeAggregates(w))).toEqual(withoutLatency(await store.edgeAggregates(w)));
    } finally {
      await rollup.close();
    }
  });

  it('keeps the latest flow record and lists flows and anomalies', async () => {
    const record = (analyzedAtMs: number, complete: boolean): FlowRecord => ({
      conversationId: 'conv-agg',
      startMs: t0,
      endMs: t0 + 72,
      durationMs: 72,
      complete,
      state: complete ? 'complete' : 'incomplete',
      services: ['shop-api', 'orders', 'billing'],
      messageTypes: ['SubmitOrder', 'OrderBilled'],
      rootType: 'SubmitOrder',
      messageCount: 2,
      spanCount: 7,
      idempotencyKeys: [],
      businessKeys: ['order-1'],
      anomalyCounts: { 'duplicate-processing': 1, retry: 0 },
      worstSeverity: 'error',
      ledger: {
        noDuplicateProcessing: {
          verdict: 'violated',
          evidence: ['00000000000000a1'],
          reason: 'duplicate-processing: SubmitOrder processed 2× by orders',
        },
        noGhost: { verdict: 'held', evidence: [], reason: '' },
        noLost: {
          verdict: complete ? 'held' : 'unknown',
          evidence: [],
          reason: complete ? '' : 'the flow is still within its quiet period',
        },
        consistentOutput: { verdict: 'held', evidence: [], reason: '' },
      },
      verdict: 'violated',
      anomalies: [
        {
          kind: 'duplicate-processing',
          severity: 'error',
          conversationId: 'conv-agg',
          messageId: 'm1',
          messageType: 'SubmitOrder',
          service: 'orders',
          endpoint: 'orders/orders',
          detail: 'SubmitOrder processed 2× by orders',
          timeMs: t0 + 20,
        },
      ],
      analyzedAtMs,
    });
    await store.saveFlows([record(t0 + 1000, false)]);
    await store.saveFlows([record(t0 + 2000, true)]);
    await store.saveFlows([record(t0 + 1500, false)]);
    expect(await store.getFlowRecord('conv-agg')).toEqual(record(t0 + 2000, true));
    expect(await store.getFlowRecord('nope')).toBeNull();

    const page = await store.listFlows({ ...window, limit: 10 });
    expect(page.total).toBe(1);
    expect(page.nextCursor).toBeNull();
    expect(page.anomalyCounts).toEqual({ 'duplicate-processing': 1 });
    expect(page.flows.map((flow) => [flow.conversationId, flow.complete])).toEqual([['conv-agg', true]]);
    expect((await store.listFlows({ ...window, limit: 10, q: 'm2' })).total).toBe(1);
    expect((await store.listFlows({ ...window, limit: 10, complete: false })).total).toBe(0);
    expect((await store.listFlows({ ...window, limit: 10, anomaly: 'retry' })).total).toBe(0);

    const anomalies = await store.listAnomalies({ ...window, limit: 10 });
    expect(anomalies).toEqual(record(0, true).anomalies);
    expect(await store.listAnomalies({ ...window, limit: 10, service: 'billing' })).toEqual([]);

    const buckets = await store.flowBuckets(window, 60_000);
    expect(buckets).toEqual([
      {
        timeMs: t0,
        group: '',
        flowsCompleted: 1,
        flowCompletionP50Ms: 72,
        flowCompletionP95Ms: 72,
        incompleteFlows: 0,
        flowsHeld: 0,
        flowsViolated: 1,
        flowsUnknown: 0,
        ghostMessages: 0,
        lostMessages: 0,
        inconsistentOutputs: 0,
        prematurePublishes: 0,
      },
    ]);
  });
});
