/**
 * The store conformance suite: every `SpanStore` backend runs it from its own test file and
 * must give the same answers on the shared fixtures (`test/fixtures/store-fixtures.ts`).
 *
 *   runSpanStoreConformance('DuckDB (memory)', async () => new DuckDbStore({ path: ':memory:' }));
 *
 * `makeStore` returns a new, empty store; the suite calls `init()` and disposes of it. A backend
 * that cannot offer a capability opts out of it explicitly with a reason (shown as skipped
 * tests), never silently. What the suite pins, beyond the doc comments of `span-store.ts`:
 * - span roles as in `model/span-roles.ts`: send = producer or operation send/create;
 *   attempt = not a send and (consumer, operation process/receive, or an outcome); HTTP client
 *   = client kind with an HTTP method or url.full attribute;
 * - buckets are epoch-aligned (floor(start / step) · step); a (bucket, group) row exists only
 *   when a send or an attempt falls in it; a group value of '' counts in the totals only;
 *   processing and queue latency are over attempts; quantiles interpolate linearly between the
 *   nearest values of the exact sample (DuckDB `quantile_cont`);
 * - spansOfMessage: the spans carrying the message id plus the spans whose outgoing message ids
 *   include it (the attempt that produced it; for a message never sent, the only evidence);
 * - findConversations matches exactly (no substrings) conversation id, message id,
 *   idempotency key, trace id, causation id, or the value of a span attribute (not resource
 *   attributes, not keys); order by the latest start of a matching span, then id;
 * - listFlows: flows whose start is in the window, newest start first (ties: conversation id
 *   descending); q matches exactly a record's conversation id, idempotency/business key or
 *   message type, or whatever findConversations matches; anomalyCounts count flows per kind
 *   after every filter (anomaly included); an unknown cursor, anomaly kind or state rejects;
 * - listAnomalies: evidence time in the window, newest first;
 * - flowBuckets: by flow start; completed = state 'complete', incomplete = state 'incomplete';
 *   ghost/lost/inconsistent-output/premature-publish anomalies by anomaly time;
 * - edges: send (service → destination), consume (destination → service, from attempts), http
 *   (service → peer.service | server.address | url host | 'unknown-peer'); errors = status
 *   error or a failed/retry_scheduled/dead_lettered outcome; retries (consume edges only) and
 *   trend retries are failed/retry_scheduled attempts, not redeliveries;
 * - duplicate processings: processed attempts of an (endpoint = service + destination, message
 *   id) processed before, in the bucket (or edge) of the repeat however far back the first was
 *   (see `conformance-trends.ts`);
 * - coverage: per (service, endpoint) — endpoint as the analysis derives it for attempts
 *   (`onceflow.endpoint`, else service/destination, else service), '' for other spans —
 *   counts of spans with a message id / conversation, sends with an id / a body digest,
 *   attempts with an id / an outcome, processed attempts with `onceflow.committed_at_ms`;
 * - retention: spans that started before the cutoff and flows that ended before it go
 *   (fixtures keep old data a UTC day apart, so partition-granular deletes pass too);
 * - every string parameter is data: hostile strings match nothing (or exactly the fixture
 *   that holds them) and never fail; limits must be non-negative integers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_FLOWS,
  ALL_SPANS,
  CONV_3,
  FLOW_1,
  FLOW_2,
  FLOW_3,
  FLOW_OLD,
  HOSTILE_BUSINESS_KEY,
  HOUR,
  INJECTION_PAYLOADS,
  OLD_T0,
  PAGING_FLOWS,
  RETENTION_CUTOFF_MS,
  SPANS,
  T0,
  TRACE_1,
  TRACE_2,
  TRACE_3,
  WINDOW,
} from '../fixtures/store-fixtures.js';
import { COVERAGE_ROWS, COVERAGE_SPANS, COVERAGE_T0, COVERAGE_WINDOW } from '../fixtures/coverage-fixtures.js';
import {
  EXPORT_ENTRY_ROWS,
  EXPORT_ROWS,
  EXPORT_SPANS,
  EXPORT_STEP_MS,
  EXPORT_T0,
  EXPORT_WINDOW,
} from '../fixtures/export-sequence-fixtures.js';
import type { Anomaly, AnomalyKind, FlowRecord, FlowSummary } from '../../src/model/flow.js';
import type { SpanRow } from '../../src/model/span.js';
import type { EdgeAggregateRow, FlowQuery, SpanBucketRow, SpanStore } from '../../src/store/span-store.js';
import { trendCountCases } from './conformance-trends.js';

export const STORE_CAPABILITIES = ['rows', 'idempotency', 'search', 'flows', 'anomalies', 'aggregates', 'retention', 'injection'] as const;
export type StoreCapability = (typeof STORE_CAPABILITIES)[number];

export interface ConformanceOptions<S extends SpanStore> {
  /** Capabilities this backend does not offer, each with the reason shown in the report. */
  unsupported?: Partial<Record<StoreCapability, string>>;
  /** Called after the suite's writes (e.g. to wait for asynchronous merges or mutations). */
  settle?: (store: S) => Promise<void>;
  /** Tears a store down (default: `close()`); e.g. drop the test database first. */
  dispose?: (store: S) => Promise<void>;
}

const MINUTE = 60_000;

export function runSpanStoreConformance<S extends SpanStore>(
  name: string,
  makeStore: () => Promise<S>,
  options: ConformanceOptions<S> = {},
): void {
  const unsupported = options.unsupported ?? {};
  const settle = async (store: S) => {
    await options.settle?.(store);
  };
  const dispose = async (store: S | undefined) => {
    if (!store) return;
    if (options.dispose) await options.dispose(store);
    else await store.close();
  };

  /** A store of its own for tests that write; loaded with the fixtures unless told otherwise. */
  async function freshStore(load = true): Promise<S> {
    const store = await makeStore();
    await store.init();
    if (load) {
      await store.insertSpans(ALL_SPANS);
      await store.saveFlows(ALL_FLOWS);
      await settle(store);
    }
    return store;
  }

  const capability = (cap: StoreCapability, title: string, body: () => void) => {
    const reason = unsupported[cap];
    describe.skipIf(reason !== undefined)(reason === undefined ? title : `${title} (opted out: ${reason})`, body);
  };

  describe(`SpanStore conformance: ${name}`, () => {
    // One loaded store shared by the read-only tests.
    let store: S;
    beforeAll(async () => {
      store = await freshStore();
    });
    afterAll(async () => {
      await dispose(store);
    });

    capability('rows', 'rows', () => {
      it('reports its kind and health', async () => {
        expect(typeof store.kind).toBe('string');
        expect(store.kind).not.toBe('');
        const health = await store.health();
        expect(health.ok).toBe(true);
      });

      it('counts every fixture span once', async () => {
        expect(await store.spanCount()).toBe(ALL_SPANS.length);
      });

      it('round-trips every field of every span exactly (bigint ns, arrays, maps, links, events)', async () => {
        for (const traceId of new Set(ALL_SPANS.map((s) => s.traceId))) {
          const expected = sortSpans(ALL_SPANS.filter((s) => s.traceId === traceId));
          expect(await store.spansOfTrace(traceId, 1000)).toEqual(expected);
        }
      });

      it('returns a conversation in start order, up to the limit', async () => {
        const ids = [
          SPANS.c1Http,
          SPANS.c1SendM1,
          SPANS.c1OrdersM1,
          SPANS.c1SendM2,
          SPANS.c1BillingM2,
          SPANS.c1BillingHttp,
          SPANS.c1MarketingM2,
          SPANS.c1BillingM2Dup,
        ].map((s) => s.spanId);
        expect((await store.spansOfConversation('conv-1', 100)).map((s) => s.spanId)).toEqual(ids);
        expect((await store.spansOfConversation('conv-1', 3)).map((s) => s.spanId)).toEqual(ids.slice(0, 3));
        // Exactly as many as there are, and one fewer: the last is left out, whatever the read order.
        expect((await store.spansOfConversation('conv-1', ids.length)).map((s) => s.spanId)).toEqual(ids);
        expect((await store.spansOfConversation('conv-1', ids.length - 1)).map((s) => s.spanId)).toEqual(ids.slice(0, -1));
        expect(await store.spansOfConversation('conv-1', 0)).toEqual([]);
        expect((await store.spansOfConversation(CONV_3, 100)).map((s) => s.spanId)).toEqual(
          [SPANS.c3Send, SPANS.c3TaxHttp, SPANS.c3OrdersEu].map((s) => s.spanId),
        );
        expect(await store.spansOfConversation('conv-missing', 100)).toEqual([]);
      });

      it('returns every send and attempt of a message across traces', async () => {
        expect((await store.spansOfMessage('m-3', 100)).map((s) => s.spanId)).toEqual(
          [SPANS.c2SendM3, SPANS.c2OrdersM3A1, SPANS.c2OrdersM3A2, SPANS.c2OrdersM3A3].map((s) => s.spanId),
        );
        // The attempt that put m-2 in its outbox (outgoing ids) comes with it, in start order.
        expect(await store.spansOfMessage('m-2', 100)).toEqual([
          SPANS.c1OrdersM1,
          SPANS.c1SendM2,
          SPANS.c1BillingM2,
          SPANS.c1MarketingM2,
          SPANS.c1BillingM2Dup,
        ]);
        expect(await store.spansOfMessage('m-2', 2)).toEqual([SPANS.c1OrdersM1, SPANS.c1SendM2]);
      });

      it('returns the attempts that produced a message never sent (only in outgoing ids)', async () => {
        // Committed to an outbox that was never dispatched: no span carries the id as its own.
        // It also lists its own message id (malformed): such a span still comes back once.
        const outboxOnly: SpanRow = {
          ...SPANS.c2OrdersM3A1,
          spanId: 'abcdefabcdef00a1',
          startNs: SPANS.c2OrdersM3A1.startNs + 1_000_000n,
          outgoingMessageIds: ['m-9', 'm-unsent', 'm-3'],
        };
        const own = await freshStore(false);
        try {
          await own.insertSpans([...ALL_SPANS, outboxOnly]);
          await settle(own);
          expect(await own.spansOfMessage('m-unsent', 100)).toEqual([outboxOnly]);
          expect(await own.spansOfMessage('m-9', 100)).toEqual([outboxOnly]);
          expect(await own.spansOfMessage('m-unsent', 0)).toEqual([]);
          expect(await own.spansOfMessage('m-unsen', 100)).toEqual([]);
          expect((await own.spansOfMessage('m-3', 100)).map((span) => span.spanId)).toEqual(
            [SPANS.c2SendM3, SPANS.c2OrdersM3A1, outboxOnly, SPANS.c2OrdersM3A2, SPANS.c2OrdersM3A3].map((span) => span.spanId),
          );
        } finally {
          await dispose(own);
        }
      });

      it('returns a trace', async () => {
        expect((await store.spansOfTrace(TRACE_3, 100)).map((s) => s.spanId)).toEqual(
          [SPANS.c3Send, SPANS.c3TaxHttp, SPANS.c3OrdersEu].map((s) => s.spanId),
        );
        expect(await store.spansOfTrace('f'.repeat(32), 100)).toEqual([]);
      });

      it.each([
        ['order-1001', 'order-1001'],
        ['a hostile key', HOSTILE_BUSINESS_KEY],
      ])('returns the spans whose business key is exactly %s, in start order', async (_label, key) => {
        const carrying = ALL_SPANS.filter((s) => s.attributes['onceflow.business_key'] === key);
        const inOrder = [...carrying].sort((a, b) =>
          a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : a.spanId < b.spanId ? -1 : 1,
        );
        expect(carrying.length).toBeGreaterThan(0);
        const ofKey = async (businessKey: string, limit: number) =>
          (await store.spansOfBusinessKeys([businessKey], limit)).get(businessKey);
        expect(await ofKey(key, 100)).toEqual(inOrder);
        expect(await ofKey(key, 1)).toEqual(inOrder.slice(0, 1));
        expect(await ofKey(key.slice(0, -1), 100)).toEqual([]);
        expect(await ofKey('', 100)).toEqual([]);
      });

      it('reads several business keys at once: per key in start order up to the limit, one conversation left out if asked', async () => {
        const keyOf = (span: SpanRow) => span.attributes['onceflow.business_key'];
        const inConv1 = sortSpans(ALL_SPANS.filter((s) => keyOf(s) === 'order-1001'));
        const hostile = sortSpans(ALL_SPANS.filter((s) => keyOf(s) === HOSTILE_BUSINESS_KEY));
        expect(new Set(inConv1.map((s) => s.conversationId))).toEqual(new Set(['conv-1']));
        // The same key in another conversation: one span before conv-1's, the others after.
        const elsewhere = inConv1.map((span, i) => ({
          ...span,
          traceId: 'e'.repeat(32),
          spanId: `${i + 1}`.padStart(16, 'e'),
          parentSpanId: '',
          conversationId: 'conv-bk',
          startNs: span.startNs + (i === 0 ? -1_000_000n : 1_000_000n),
        }));
        const own = await freshStore(false);
        try {
          await own.insertSpans([...ALL_SPANS, ...elsewhere]);
          await settle(own);
          const keys = ['order-1001', HOSTILE_BUSINESS_KEY, 'order-none', ''];
          const all = await own.spansOfBusinessKeys(keys, 100);
          expect([...all.keys()].sort()).toEqual([...keys].sort());
          expect(all.get('order-1001')).toEqual(sortSpans([...inConv1, ...elsewhere]));
          expect(all.get(HOSTILE_BUSINESS_KEY)).toEqual(hostile);
          expect(all.get('order-none')).toEqual([]);
          expect(all.get('')).toEqual([]);
          const first = await own.spansOfBusinessKeys(keys, 1);
          expect(first.get('order-1001')).toEqual([elsewhere[0]]);
          expect(first.get(HOSTILE_BUSINESS_KEY)).toEqual(hostile.slice(0, 1));
          expect((await own.spansOfBusinessKeys(keys, 100, 'conv-bk')).get('order-1001')).toEqual(inConv1);
          const exceptConv1 = await own.spansOfBusinessKeys(keys, 100, 'conv-1');
          expect(exceptConv1.get('order-1001')).toEqual(sortSpans(elsewhere));
          expect(exceptConv1.get(HOSTILE_BUSINESS_KEY)).toEqual(hostile);
          expect((await own.spansOfBusinessKeys(keys, 100, CONV_3)).get(HOSTILE_BUSINESS_KEY)).toEqual([]);
          expect(await own.spansOfBusinessKeys([], 100)).toEqual(new Map());
        } finally {
          await dispose(own);
        }
      });

      it('lists conversations active in a window, newest activity first', async () => {
        const active = await store.activeConversations(WINDOW, 10);
        expect(active.map((a) => a.conversationId)).toEqual([CONV_3, 'conv-2', 'conv-1']);
        expect(active[0].lastMs).toBeCloseTo(T0 + 600_020, 2);
        expect(active[1].lastMs).toBeCloseTo(T0 + 63_000, 2);
        expect(active[2].lastMs).toBeCloseTo(T0 + 100, 2);
        expect((await store.activeConversations({ fromMs: T0, toMs: T0 + 2 * MINUTE }, 10)).map((a) => a.conversationId)).toEqual([
          'conv-2',
          'conv-1',
        ]);
        expect((await store.activeConversations(WINDOW, 1)).map((a) => a.conversationId)).toEqual([CONV_3]);
      });

      it('rejects a negative or fractional limit', async () => {
        await expect(store.spansOfConversation('conv-1', -1)).rejects.toThrow();
        await expect(store.spansOfMessage('m-1', 1.5)).rejects.toThrow();
      });
    });

    capability('search', 'findConversations', () => {
      it.each([
        ['conversation id', 'conv-1', ['conv-1']],
        ['conversation id with quotes and a backslash', CONV_3, [CONV_3]],
        ['message id', 'm-2', ['conv-1']],
        ['idempotency key', 'idem-2002', ['conv-2']],
        ['trace id', TRACE_2, ['conv-2']],
        ['causation id', 'cause-upstream-9', [CONV_3]],
        ['attribute value (business key)', 'order-1001', ['conv-1']],
        ['attribute value with a quote', HOSTILE_BUSINESS_KEY, [CONV_3]],
        ['attribute value with a backslash', 'back\\slash', [CONV_3]],
        ['attribute value with double quotes', 'say "hi"', [CONV_3]],
        ['attribute value with control characters', 'tab\there\nnewline', [CONV_3]],
        ['attribute value that looks like JSON', '{"a":"b"}', [CONV_3]],
        ['attribute value with emoji and accents', '😀 ünïcødé', [CONV_3]],
        ['value of several conversations, most recent first', 'POST', ['conv-2', 'conv-1']],
        ['value also on a span without conversation', 'GET', ['conv-2']],
      ] as [string, string, string[]][])('matches the %s', async (_label, q, expected) => {
        expect(await store.findConversations(q, 10)).toEqual(expected);
      });

      it.each([
        ['a prefix of a value', 'order-10'],
        ['a prefix of a conversation id', 'conv-'],
        ['an attribute key', 'onceflow.business_key'],
        ['a resource attribute value', 'edge-1'],
        ['a different case', 'CONV-1'],
        ['the empty string', ''],
      ])('does not match %s', async (_label, q) => {
        expect(await store.findConversations(q, 10)).toEqual([]);
      });

      it('honours the limit', async () => {
        expect(await store.findConversations('POST', 1)).toEqual(['conv-2']);
      });
    });

    capability('flows', 'flow records', () => {
      const query = (overrides: Partial<FlowQuery> = {}): FlowQuery => ({ ...WINDOW, limit: 100, ...overrides });
      const ids = (flows: FlowSummary[]) => flows.map((f) => f.conversationId);
      const newestFirst = ['page-tie-b', 'page-tie-a', ...PAGING_FLOWS.map((f) => f.conversationId).reverse(), CONV_3, 'conv-2', 'conv-1'];

      it('returns a stored record as saved', async () => {
        expect(await store.getFlowRecord('conv-2')).toEqual(FLOW_2);
        expect(await store.getFlowRecord(CONV_3)).toEqual(FLOW_3);
        expect(await store.getFlowRecord('conv-missing')).toBeNull();
      });

      it('lists the flows that start in the window, newest first, with summaries only', async () => {
        const page = await store.listFlows(query());
        expect(ids(page.flows)).toEqual(newestFirst);
        expect(page.total).toBe(17);
        expect(page.nextCursor).toBeNull();
        expect(page.flows.find((f) => f.conversationId === 'conv-1')).toEqual(summaryOf(FLOW_1));
        expect(page.anomalyCounts).toEqual({
          'duplicate-delivery': 1,
          offload: 1,
          retry: 7,
          'dead-letter': 1,
          'duplicate-processing': 1,
        });
      });

      it('pages with the cursor without gaps or repeats', async () => {
        const seen: string[] = [];
        let cursor: string | undefined;
        const sizes: number[] = [];
        for (let i = 0; i < 10; i++) {
          const page = await store.listFlows(query({ limit: 5, cursor }));
          expect(page.total).toBe(17);
          sizes.push(page.flows.length);
          seen.push(...ids(page.flows));
          if (page.nextCursor === null) break;
          cursor = page.nextCursor;
        }
        expect(sizes).toEqual([5, 5, 5, 2]);
        expect(seen).toEqual(newestFirst);
      });

      it('rejects a cursor it did not issue', async () => {
        await expect(store.listFlows(query({ cursor: 'not-a-cursor' }))).rejects.toThrow(/cursor/i);
      });

      it.each([
        ['service', { service: 'invoicing' }, ['conv-2']],
        ['message type', { messageType: 'Bestellung✓' }, [CONV_3]],
        ['anomaly kind', { anomaly: 'duplicate-delivery' }, ['conv-1']],
        ['completeness', { complete: false }, ['conv-2']],
        ['state', { state: 'active' }, [CONV_3]],
        ['verdict violated', { verdict: 'violated' }, ['conv-2']],
        ['verdict unknown', { verdict: 'unknown' }, [CONV_3]],
        ['verdict held and anomaly kind', { verdict: 'held', anomaly: 'duplicate-delivery' }, ['conv-1']],
        ['q = business key', { q: 'order-1001' }, ['conv-1']],
        ['q = idempotency key', { q: 'idem-2002' }, ['conv-2']],
        ['q = hostile idempotency key', { q: FLOW_3.idempotencyKeys[0] }, [CONV_3]],
        ['q = message type', { q: 'SubmitOrder' }, ['conv-2', 'conv-1']],
        ['q = message id', { q: 'm-4' }, ['conv-2']],
        ['q = trace id', { q: TRACE_1 }, ['conv-1']],
        ['q = attribute value', { q: 'POST' }, ['conv-2', 'conv-1']],
        ['q = conversation id', { q: 'page-03' }, ['page-03']],
        ['q = substring only', { q: 'order-10' }, []],
        ['service and message type', { service: 'edge', messageType: 'InvoiceRequested' }, ['conv-2']],
      ] as [string, Partial<FlowQuery>, string[]][])('filters by %s', async (_label, filter, expected) => {
        const page = await store.listFlows(query(filter));
        expect(ids(page.flows)).toEqual(expected);
        expect(page.total).toBe(expected.length);
      });

      it('counts anomaly kinds over the filtered flows, not just the page', async () => {
        const page = await store.listFlows(query({ anomaly: 'retry', limit: 2 }));
        expect(page.flows).toHaveLength(2);
        expect(page.total).toBe(7);
        expect(page.anomalyCounts).toEqual({ retry: 7, offload: 1, 'dead-letter': 1, 'duplicate-processing': 1 });
      });

      it('keeps flows starting outside the window out', async () => {
        const page = await store.listFlows(query({ fromMs: T0 + 62_000, toMs: T0 + 700_000 }));
        expect(ids(page.flows)).toEqual([CONV_3]);
        expect((await store.listFlows(query({ fromMs: OLD_T0 - HOUR, toMs: OLD_T0 + HOUR }))).flows.map((f) => f.conversationId)).toEqual([
          'conv-old',
        ]);
      });

      it('rejects an unknown anomaly kind or state', async () => {
        await expect(store.listFlows(query({ anomaly: 'nope' as never }))).rejects.toThrow();
        await expect(store.listFlows(query({ state: 'nope' as never }))).rejects.toThrow();
      });
    });

    capability('anomalies', 'anomalies', () => {
      const pagingAnomalies = PAGING_FLOWS.flatMap((f) => f.anomalies).reverse();
      const byTimeDesc = [
        ...pagingAnomalies,
        FLOW_2.anomalies[3],
        FLOW_2.anomalies[2],
        FLOW_2.anomalies[1],
        FLOW_2.anomalies[0],
        FLOW_1.anomalies[0],
      ];

      it('lists the anomalies with evidence in the window, newest first', async () => {
        expect(await store.listAnomalies({ ...WINDOW, limit: 100 })).toEqual(byTimeDesc);
        expect(await store.listAnomalies({ ...WINDOW, limit: 2 })).toEqual(byTimeDesc.slice(0, 2));
      });

      it.each([
        ['kind', { kind: 'retry' }, [...pagingAnomalies, FLOW_2.anomalies[2]]],
        ['service', { service: 'invoicing' }, [FLOW_2.anomalies[1]]],
        ['kind and service', { kind: 'retry', service: 'orders' }, [FLOW_2.anomalies[2]]],
        ['window', { fromMs: T0 + 60_000, toMs: T0 + 62_000 }, [FLOW_2.anomalies[2], FLOW_2.anomalies[1], FLOW_2.anomalies[0]]],
        ['old window', { fromMs: OLD_T0 - HOUR, toMs: OLD_T0 + HOUR }, FLOW_OLD.anomalies],
      ] as [string, object, Anomaly[]][])('filters by %s', async (_label, filter, expected) => {
        expect(await store.listAnomalies({ ...WINDOW, limit: 100, ...filter })).toEqual(expected);
      });

      it('rejects an unknown kind', async () => {
        await expect(store.listAnomalies({ ...WINDOW, limit: 10, kind: 'nope' as never })).rejects.toThrow();
      });
    });

    capability('aggregates', 'aggregates', () => {
      const zero = {
        sent: 0,
        processed: 0,
        duplicateDeliveries: 0,
        duplicateProcessings: 0,
        retries: 0,
        failures: 0,
        deadLetters: 0,
        offloads: 0,
        offloadedBytes: 0,
        processingP50Ms: null,
        processingP95Ms: null,
        processingP99Ms: null,
        queueLatencyP50Ms: null,
        queueLatencyP95Ms: null,
        queueLatencyP99Ms: null,
        outboxDispatchP50Ms: null,
        outboxDispatchP99Ms: null,
      };
      const row = (timeMs: number, group: string, values: Partial<SpanBucketRow>): SpanBucketRow => ({
        timeMs,
        group,
        ...zero,
        ...values,
      });
      const latency = (prefix: 'processing' | 'queueLatency', p50: number, p95: number, p99: number) => ({
        [`${prefix}P50Ms`]: p50,
        [`${prefix}P95Ms`]: p95,
        [`${prefix}P99Ms`]: p99,
      });
      const b0 = T0;
      const b1 = T0 + MINUTE;
      const b10 = T0 + 10 * MINUTE;

      it('buckets spans by service with totals', async () => {
        const rows = await store.spanBuckets(WINDOW, MINUTE, 'service');
        expectBuckets(rows, [
          row(b0, '', {
            sent: 2,
            processed: 3,
            duplicateDeliveries: 1,
            ...latency('processing', 7.5, 27, 29.4),
            ...latency('queueLatency', 25, 72.5, 78.5),
          }),
          row(b0, 'billing', {
            processed: 1,
            duplicateDeliveries: 1,
            ...latency('processing', 15.5, 28.55, 29.71),
            ...latency('queueLatency', 50, 77, 79.4),
          }),
          row(b0, 'edge', { sent: 1 }),
          row(b0, 'marketing', { processed: 1, ...latency('processing', 5, 5, 5), ...latency('queueLatency', 30, 30, 30) }),
          row(b0, 'orders', { sent: 1, processed: 1, ...latency('processing', 10, 10, 10), ...latency('queueLatency', 10, 10, 10) }),
          row(b1, '', {
            sent: 2,
            processed: 2,
            duplicateProcessings: 1,
            retries: 2,
            failures: 2,
            deadLetters: 1,
            offloads: 1,
            offloadedBytes: 1_000_000,
            ...latency('processing', 45, 90, 98),
            ...latency('queueLatency', 494, 2595, 2915),
          }),
          row(b1, 'edge', { sent: 2, offloads: 1, offloadedBytes: 1_000_000 }),
          row(b1, 'invoicing', {
            processed: 2,
            duplicateProcessings: 1,
            ...latency('processing', 42.5, 44.75, 44.95),
            ...latency('queueLatency', 294, 474, 490),
          }),
          row(b1, 'orders', {
            retries: 2,
            failures: 2,
            deadLetters: 1,
            ...latency('processing', 50, 95, 99),
            ...latency('queueLatency', 995, 2795, 2955),
          }),
          row(b10, '', {
            sent: 1,
            processed: 1,
            ...latency('processing', 7.000001, 7.000001, 7.000001),
            ...latency('queueLatency', 20.000123, 20.000123, 20.000123),
          }),
          row(b10, 'orders-eu', {
            processed: 1,
            ...latency('processing', 7.000001, 7.000001, 7.000001),
            ...latency('queueLatency', 20.000123, 20.000123, 20.000123),
          }),
          row(b10, 'shop', { sent: 1 }),
        ]);
      });

      it('buckets spans by message type and by destination', async () => {
        const byType = await store.spanBuckets({ fromMs: T0, toMs: T0 + MINUTE }, MINUTE, 'messageType');
        expectBuckets(byType, [
          row(b0, '', {
            sent: 2,
            processed: 3,
            duplicateDeliveries: 1,
            ...latency('processing', 7.5, 27, 29.4),
            ...latency('queueLatency', 25, 72.5, 78.5),
          }),
          row(b0, 'OrderPlaced', {
            sent: 1,
            processed: 2,
            duplicateDeliveries: 1,
            ...latency('processing', 5, 27.5, 29.5),
            ...latency('queueLatency', 30, 75, 79),
          }),
          row(b0, 'SubmitOrder', { sent: 1, processed: 1, ...latency('processing', 10, 10, 10), ...latency('queueLatency', 10, 10, 10) }),
        ]);
        const byDestination = await store.spanBuckets({ fromMs: T0 + MINUTE, toMs: T0 + 2 * MINUTE }, MINUTE, 'destination');
        expect(
          byDestination.map((r) => [
            r.group,
            r.sent,
            r.processed,
            r.duplicateProcessings,
            r.retries,
            r.failures,
            r.deadLetters,
            r.offloads,
          ]),
        ).toEqual([
          ['', 2, 2, 1, 2, 2, 1, 1],
          ['invoices', 1, 2, 1, 0, 0, 0, 0],
          ['orders', 1, 0, 0, 2, 2, 1, 1],
        ]);
      });

      it('aligns buckets to the epoch, whatever the window start', async () => {
        const rows = await store.spanBuckets({ fromMs: T0 + 30_000, toMs: T0 + 10 * MINUTE + 1 }, 10 * MINUTE, 'service');
        expect(rows.filter((r) => r.group === '').map((r) => [r.timeMs, r.sent, r.processed])).toEqual([
          [T0, 2, 2],
          [T0 + 10 * MINUTE, 1, 0],
        ]);
      });

      it('rejects an unknown grouping', async () => {
        await expect(store.spanBuckets(WINDOW, MINUTE, 'nope' as never)).rejects.toThrow();
      });

      it('buckets flow completion by flow start', async () => {
        const rows = await store.flowBuckets(WINDOW, 10 * MINUTE);
        expect(rows).toHaveLength(3);
        expect(rows.map((r) => [r.timeMs, r.group, r.flowsCompleted, r.incompleteFlows])).toEqual([
          [T0, '', 1, 1],
          [T0 + 10 * MINUTE, '', 0, 0],
          [T0 + 20 * MINUTE, '', 14, 0],
        ]);
        expect(rows[0].flowCompletionP50Ms).toBeCloseTo(101, 6);
        expect(rows[0].flowCompletionP95Ms).toBeCloseTo(101, 6);
        expect(rows[1].flowCompletionP50Ms).toBeNull();
        expect(rows[1].flowCompletionP95Ms).toBeNull();
        expect(rows[2].flowCompletionP50Ms).toBeCloseTo(5500, 6);
        expect(rows[2].flowCompletionP95Ms).toBeCloseTo(11_350, 6);
      });

      it('buckets attempts per endpoint and message type, with one count per storm kind', async () => {
        const zeros = { duplicateDeliveries: 0, duplicateProcessings: 0, retries: 0, failures: 0, deadLetters: 0 };
        expect(await store.activityBuckets(WINDOW, MINUTE)).toEqual([
          {
            timeMs: b0,
            service: 'billing',
            destination: 'order-events',
            messageType: 'OrderPlaced',
            attempts: 2,
            ...zeros,
            duplicateDeliveries: 1,
          },
          { timeMs: b0, service: 'marketing', destination: 'order-events', messageType: 'OrderPlaced', attempts: 1, ...zeros },
          { timeMs: b0, service: 'orders', destination: 'orders', messageType: 'SubmitOrder', attempts: 1, ...zeros },
          {
            timeMs: b1,
            service: 'invoicing',
            destination: 'invoices',
            messageType: 'InvoiceRequested',
            attempts: 2,
            ...zeros,
            duplicateProcessings: 1,
          },
          // failed and retry_scheduled are retries, dead_lettered a dead letter: none is a bare failure.
          {
            timeMs: b1,
            service: 'orders',
            destination: 'orders',
            messageType: 'SubmitOrder',
            attempts: 3,
            ...zeros,
            retries: 2,
            deadLetters: 1,
          },
          { timeMs: b10, service: 'orders-eu', destination: 'orders.eu', messageType: 'Bestellung✓', attempts: 1, ...zeros },
        ]);
      });

      const key = (service: string, destination: string, messageType: string) => ({ service, destination, messageType });
      it.each([
        [key('billing', 'order-events', 'OrderPlaced'), 'duplicate-delivery', [{ messageId: 'm-2', count: 1 }]],
        [key('invoicing', 'invoices', 'InvoiceRequested'), 'duplicate-processing', [{ messageId: 'm-4', count: 1 }]],
        [key('invoicing', 'invoices', 'InvoiceRequested'), 'duplicate-delivery', []],
        [key('orders', 'orders', 'SubmitOrder'), 'retry', [{ messageId: 'm-3', count: 2 }]],
        [key('orders', 'orders', 'SubmitOrder'), 'dead-letter', [{ messageId: 'm-3', count: 1 }]],
        [key('orders', 'orders', 'SubmitOrder'), 'failure', []],
        [key('orders', 'elsewhere', 'SubmitOrder'), 'retry', []],
        [key('marketing', 'order-events', 'OrderPlaced'), 'retry', []],
      ] as const)('names the top keys of %o (%s)', async (activityKey, kind, expected) => {
        expect(await store.topKeys(WINDOW, activityKey, kind, 10)).toEqual(expected);
      });

      it('rejects an unknown top-key kind', async () => {
        await expect(store.topKeys(WINDOW, key('orders', 'orders', 'SubmitOrder'), 'nope' as never, 10)).rejects.toThrow();
      });

      describe('an attempt in error with no outcome (a consumer that only sets the span status)', () => {
        let own: S | undefined;
        afterAll(async () => {
          await dispose(own);
        });

        it('counts as a failure of its endpoint, and names its message as a top key', async () => {
          own = await freshStore(false);
          const threw: SpanRow = {
            ...SPANS.c1MarketingM2,
            spanId: 'abcdefabcdef0002',
            statusCode: 'error',
            outcome: '',
            startNs: SPANS.c1MarketingM2.startNs + 1000n,
          };
          await own.insertSpans([SPANS.c1SendM2, SPANS.c1MarketingM2, threw]);
          await settle(own);
          expect(await own.activityBuckets(WINDOW, MINUTE)).toEqual([
            {
              timeMs: b0,
              service: 'marketing',
              destination: 'order-events',
              messageType: 'OrderPlaced',
              attempts: 2,
              duplicateDeliveries: 0,
              duplicateProcessings: 0,
              retries: 0,
              failures: 1,
              deadLetters: 0,
            },
          ]);
          expect(
            await own.topKeys(WINDOW, { service: 'marketing', destination: 'order-events', messageType: 'OrderPlaced' }, 'failure', 10),
          ).toEqual([{ messageId: 'm-2', count: 1 }]);
        });
      });

      it('aggregates send, consume and HTTP edges', async () => {
        const edge = (
          kind: EdgeAggregateRow['kind'],
          source: string,
          target: string,
          values: Partial<EdgeAggregateRow> & { latency: [number, number, number] },
        ): EdgeAggregateRow => {
          const {
            latency: [p50, p95, p99],
            ...rest
          } = values;
          return {
            kind,
            source,
            target,
            messageTypes: [],
            count: 1,
            errors: 0,
            duplicates: 0,
            duplicateProcessings: 0,
            retries: 0,
            latencyP50Ms: p50,
            latencyP95Ms: p95,
            latencyP99Ms: p99,
            ...rest,
          };
        };
        const expected = [
          edge('consume', 'invoices', 'invoicing', {
            messageTypes: ['InvoiceRequested'],
            count: 2,
            duplicateProcessings: 1,
            latency: [42.5, 44.75, 44.95],
          }),
          edge('consume', 'order-events', 'billing', {
            messageTypes: ['OrderPlaced'],
            count: 2,
            duplicates: 1,
            latency: [15.5, 28.55, 29.71],
          }),
          edge('consume', 'order-events', 'marketing', { messageTypes: ['OrderPlaced'], latency: [5, 5, 5] }),
          edge('consume', 'orders', 'orders', {
            messageTypes: ['SubmitOrder'],
            count: 4,
            errors: 3,
            retries: 2,
            latency: [30, 92.5, 98.5],
          }),
          edge('consume', 'orders.eu', 'orders-eu', { messageTypes: ['Bestellung✓'], latency: [7.000001, 7.000001, 7.000001] }),
          edge('http', 'billing', 'payments.example', { latency: [20, 20, 20] }),
          edge('http', 'edge', 'fraud-check', { errors: 1, latency: [3, 3, 3] }),
          edge('http', 'shop', 'tax.example', { latency: [4, 4, 4] }),
          edge('send', 'edge', 'invoices', { messageTypes: ['InvoiceRequested'], latency: [2, 2, 2] }),
          edge('send', 'edge', 'orders', { messageTypes: ['SubmitOrder'], count: 2, latency: [2, 2, 2] }),
          edge('send', 'orders', 'order-events', { messageTypes: ['OrderPlaced'], latency: [1, 1, 1] }),
          edge('send', 'shop', 'orders.eu', { messageTypes: ['Bestellung✓'], latency: [3, 3, 3] }),
        ];
        const rows = await store.edgeAggregates(WINDOW);
        expect(rows.map(withoutLatency)).toEqual(expected.map(withoutLatency));
        rows.forEach((row, i) => expectLatencies(row, expected[i]));
      });

      it('counts instrumentation coverage per service and endpoint in one aggregate', async () => {
        const own = await freshStore(false);
        try {
          await own.insertSpans(COVERAGE_SPANS);
          await settle(own);
          expect(await own.coverageAggregates(COVERAGE_WINDOW)).toEqual(COVERAGE_ROWS);
          expect(await own.coverageAggregates({ fromMs: COVERAGE_T0 + 5 * HOUR, toMs: COVERAGE_T0 + 6 * HOUR })).toEqual([]);
        } finally {
          await dispose(own);
        }
      });

      it('counts export stream numbers per service, stream and bucket (holes are spans lost at export)', async () => {
        const own = await freshStore(false);
        try {
          await own.insertSpans(EXPORT_SPANS);
          await settle(own);
          expect(await own.exportSequences(EXPORT_WINDOW, EXPORT_STEP_MS)).toEqual(EXPORT_ROWS);
          expect(await own.exportEntries(EXPORT_WINDOW)).toEqual(EXPORT_ENTRY_ROWS);
          expect(await own.exportEntries({ fromMs: EXPORT_T0, toMs: EXPORT_T0 + 20_000 })).toEqual([]);
          expect(await own.exportSequences({ fromMs: EXPORT_T0 + 2 * HOUR, toMs: EXPORT_T0 + 3 * HOUR }, EXPORT_STEP_MS)).toEqual([]);
          await expect(own.exportSequences(EXPORT_WINDOW, 0)).rejects.toThrow(RangeError);
        } finally {
          await dispose(own);
        }
      });

      it('returns nothing for an empty window', async () => {
        const empty = { fromMs: T0 + 5 * HOUR, toMs: T0 + 6 * HOUR };
        expect(await store.spanBuckets(empty, MINUTE, 'service')).toEqual([]);
        expect(await store.flowBuckets(empty, MINUTE)).toEqual([]);
        expect(await store.activityBuckets(empty, MINUTE)).toEqual([]);
        expect(await store.edgeAggregates(empty)).toEqual([]);
        expect(await store.activeConversations(empty, 10)).toEqual([]);
      });
    });

    capability('aggregates', 'what trends count (duplicate processings across buckets, endpoints, retries, flow anomalies)', () => {
      trendCountCases(() => freshStore(false), settle, dispose);
    });

    capability('injection', 'hostile strings in every parameter', () => {
      it.each(INJECTION_PAYLOADS.map((p) => [JSON.stringify(p).slice(0, 40), p]))(
        '%s matches nothing and changes nothing',
        async (_label, payload) => {
          expect(await store.spansOfConversation(payload, 10)).toEqual([]);
          expect(await store.spansOfMessage(payload, 10)).toEqual([]);
          expect(await store.spansOfTrace(payload, 10)).toEqual([]);
          expect(await store.findConversations(payload, 10)).toEqual([]);
          expect(await store.getFlowRecord(payload)).toBeNull();
          for (const filter of [{ q: payload }, { service: payload }, { messageType: payload }]) {
            const page = await store.listFlows({ ...WINDOW, limit: 10, ...filter });
            expect(page.flows).toEqual([]);
            expect(page.total).toBe(0);
            expect(page.anomalyCounts).toEqual({});
          }
          expect(await store.listAnomalies({ ...WINDOW, limit: 10, service: payload })).toEqual([]);
          expect(
            await store.topKeys(
              WINDOW,
              { service: payload, destination: 'order-events', messageType: 'OrderPlaced' },
              'duplicate-delivery',
              10,
            ),
          ).toEqual([]);
          expect(
            await store.topKeys(WINDOW, { service: 'billing', destination: payload, messageType: 'OrderPlaced' }, 'duplicate-delivery', 10),
          ).toEqual([]);
          expect(
            await store.topKeys(
              WINDOW,
              { service: 'billing', destination: 'order-events', messageType: payload },
              'duplicate-delivery',
              10,
            ),
          ).toEqual([]);
          await expect(store.listFlows({ ...WINDOW, limit: 10, cursor: payload })).rejects.toThrow();
        },
      );

      it('still holds every span and flow afterwards', async () => {
        expect(await store.spanCount()).toBe(ALL_SPANS.length);
        expect((await store.listFlows({ ...WINDOW, limit: 100 })).total).toBe(17);
      });
    });

    capability('idempotency', 'idempotent writes', () => {
      let own: S | undefined;
      afterAll(async () => {
        await dispose(own);
      });

      it('stores a batch inserted twice (also concurrently, also with repeats inside) once', async () => {
        own = await freshStore(false);
        await own.insertSpans(ALL_SPANS);
        await own.insertSpans(ALL_SPANS);
        await Promise.all([own.insertSpans(ALL_SPANS.slice(0, 10)), own.insertSpans(ALL_SPANS.slice(5, 15))]);
        await own.insertSpans([SPANS.c1Http, SPANS.c1Http, SPANS.c2Http]);
        await own.insertSpans([]);
        await settle(own);
        expect(await own.spanCount()).toBe(ALL_SPANS.length);
        expect(await own.spansOfConversation('conv-1', 100)).toHaveLength(8);
        expect(await own.spansOfMessage('m-3', 100)).toHaveLength(4);
      });

      it('stores the new spans of a batch that repeats stored ones', async () => {
        const fresh: SpanRow = { ...SPANS.c1Http, spanId: 'abcdefabcdef0001', name: 'late span' };
        await own!.insertSpans([SPANS.c1Http, fresh, SPANS.c1SendM1]);
        await settle(own!);
        expect(await own!.spanCount()).toBe(ALL_SPANS.length + 1);
        expect((await own!.spansOfConversation('conv-1', 100)).map((s) => s.name)).toContain('late span');
      });

      it('keeps the flow record analysed last', async () => {
        const older: FlowRecord = {
          ...FLOW_1,
          state: 'active',
          anomalies: [],
          anomalyCounts: {},
          analyzedAtMs: FLOW_1.analyzedAtMs - 1000,
        };
        const retry: Anomaly = { ...FLOW_1.anomalies[0], kind: 'retry', severity: 'warning', detail: 'retried' };
        const newer: FlowRecord = {
          ...FLOW_1,
          anomalies: [retry],
          anomalyCounts: { retry: 1 },
          worstSeverity: 'warning',
          analyzedAtMs: FLOW_1.analyzedAtMs + 1000,
        };
        await own!.saveFlows([FLOW_1]);
        await own!.saveFlows([older]);
        await settle(own!);
        expect(await own!.getFlowRecord('conv-1')).toEqual(FLOW_1);
        await own!.saveFlows([newer, older]);
        await settle(own!);
        expect(await own!.getFlowRecord('conv-1')).toEqual(newer);
        const page = await own!.listFlows({ ...WINDOW, limit: 10 });
        expect(page.flows.map((f) => f.conversationId)).toEqual(['conv-1']);
        expect(page.anomalyCounts).toEqual({ retry: 1 });
        expect(await own!.listAnomalies({ ...WINDOW, limit: 10 })).toEqual([retry]);
        // A kind only an older version had no longer lists the flow; the latest version's kind does.
        const ofKind = (anomaly: AnomalyKind) => own!.listFlows({ ...WINDOW, limit: 10, anomaly });
        expect(await ofKind('duplicate-delivery')).toEqual({ flows: [], nextCursor: null, anomalyCounts: {}, total: 0 });
        const retried = await ofKind('retry');
        expect(retried.flows).toEqual([summaryOf(newer)]);
        expect([retried.total, retried.anomalyCounts]).toEqual([1, { retry: 1 }]);
        // A later analysis that moved the start out of the window takes the flow out of it.
        const earlier: FlowRecord = { ...newer, startMs: WINDOW.fromMs - 60_000, analyzedAtMs: newer.analyzedAtMs + 1000 };
        await own!.saveFlows([earlier]);
        await settle(own!);
        expect((await ofKind('retry')).flows).toEqual([]);
        expect((await own!.listFlows({ ...WINDOW, limit: 10 })).flows).toEqual([]);
      });

      it('drops a record of a kind superseded by a version analysed before another record of that kind', async () => {
        // A is analysed, then B, both with a retry; then A again (between the two in time) without it.
        const retry: Anomaly = { ...FLOW_1.anomalies[0], kind: 'retry', severity: 'warning', detail: 'retried' };
        const t = FLOW_1.analyzedAtMs + 10_000;
        const a: FlowRecord = { ...FLOW_1, conversationId: 'conv-a', anomalies: [retry], anomalyCounts: { retry: 1 }, analyzedAtMs: t };
        const b: FlowRecord = { ...a, conversationId: 'conv-b', analyzedAtMs: t + 2000 };
        const laterA: FlowRecord = { ...a, anomalies: [], anomalyCounts: {}, analyzedAtMs: t + 1000 };
        const retried = () => own!.listFlows({ ...WINDOW, limit: 10, anomaly: 'retry' });
        await own!.saveFlows([a, b]);
        await settle(own!);
        expect((await retried()).flows.map((f) => f.conversationId)).toEqual(['conv-b', 'conv-a']);
        await own!.saveFlows([laterA]);
        await settle(own!);
        const page = await retried();
        expect(page.flows).toEqual([summaryOf(b)]);
        expect([page.total, page.anomalyCounts]).toEqual([1, { retry: 1 }]);
        expect(await own!.getFlowRecord('conv-a')).toEqual(laterA);
      });
    });

    capability('retention', 'retention', () => {
      let own: S | undefined;
      afterAll(async () => {
        await dispose(own);
      });

      it('drops spans and flows older than the cutoff and keeps the rest', async () => {
        own = await freshStore();
        expect(await own.spansOfConversation('conv-old', 10)).toHaveLength(2);
        await own.deleteOlderThan(RETENTION_CUTOFF_MS);
        await settle(own);
        expect(await own.spanCount()).toBe(ALL_SPANS.length - 2);
        expect(await own.spansOfConversation('conv-old', 10)).toEqual([]);
        expect(await own.spansOfMessage('m-old', 10)).toEqual([]);
        expect(await own.findConversations('conv-old', 10)).toEqual([]);
        expect(await own.getFlowRecord('conv-old')).toBeNull();
        expect(await own.listAnomalies({ fromMs: OLD_T0 - HOUR, toMs: OLD_T0 + HOUR, limit: 10 })).toEqual([]);
        expect(await own.spansOfConversation('conv-1', 100)).toHaveLength(8);
        expect(await own.getFlowRecord('conv-2')).toEqual(FLOW_2);
        expect((await own.listFlows({ ...WINDOW, limit: 100 })).total).toBe(17);
      });
    });
  });
}

function sortSpans(spans: SpanRow[]): SpanRow[] {
  return [...spans].sort((a, b) =>
    a.startNs !== b.startNs ? (a.startNs < b.startNs ? -1 : 1) : a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0,
  );
}

function summaryOf(record: FlowRecord): FlowSummary {
  const { anomalies: _anomalies, analyzedAtMs: _analyzedAtMs, ...summary } = record;
  return summary;
}

const LATENCY_FIELDS = [
  'processingP50Ms',
  'processingP95Ms',
  'processingP99Ms',
  'queueLatencyP50Ms',
  'queueLatencyP95Ms',
  'queueLatencyP99Ms',
] as const;

/** Counts exactly; latencies to 1e-6 ms (stores compute them in floating point). */
function expectBuckets(actual: SpanBucketRow[], expected: SpanBucketRow[]): void {
  const strip = (row: SpanBucketRow) => {
    const copy: Partial<SpanBucketRow> = { ...row };
    for (const field of LATENCY_FIELDS) delete copy[field];
    return copy;
  };
  expect(actual.map(strip)).toEqual(expected.map(strip));
  actual.forEach((row, i) => {
    for (const field of LATENCY_FIELDS) {
      const want = expected[i][field];
      if (want === null) expect(row[field], `${row.group} ${field}`).toBeNull();
      else expect(row[field], `${row.timeMs} ${row.group} ${field}`).toBeCloseTo(want, 6);
    }
  });
}

function withoutLatency(row: EdgeAggregateRow) {
  const { latencyP50Ms: _a, latencyP95Ms: _b, latencyP99Ms: _c, ...rest } = row;
  return rest;
}

function expectLatencies(actual: EdgeAggregateRow, expected: EdgeAggregateRow): void {
  for (const field of ['latencyP50Ms', 'latencyP95Ms', 'latencyP99Ms'] as const) {
    expect(actual[field], `${actual.kind} ${actual.source} → ${actual.target} ${field}`).toBeCloseTo(expected[field]!, 6);
  }
}
