/**
 * The rollup answers exactly what the span reads answer. Generated shop traffic (retries,
 * duplicate deliveries and processings, dead letters, offloads, HTTP calls) is inserted in
 * batches the way exporters deliver it — a conversation's attempts sometimes before its sends,
 * repeat processings many batches after the first, a batch re-sent — with rollup reads in
 * between, so the job runs many times on partial data. Then every rollup read is compared with
 * the span read of `aggregate-queries.ts` (the reference) over aligned and unaligned windows:
 * exactly, but for quantiles over windows longer than an hour (histograms, within 1 %).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR_COMMITTED_AT_MS, ATTR_OUTBOX_DISPATCH } from '@onceflow/instrumentation/semconv';
import { generateFlows } from '../../../bench/generate-flows.js';
import type { SpanRow } from '../../model/span.js';
import type { TimeWindow } from '../span-store.js';
import { activityBucketRow } from '../aggregate-rows.js';
import { activityBucketsSql, edgeAggregatesSql, spanBucketsSql } from './aggregate-queries.js';
import type { DuckDbClient, Statement } from './duckdb-client.js';
import { DuckDbStore } from './duckdb-store.js';
import { EXACT_QUANTILES_MAX_WINDOW_MS } from './rollup-sql.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const END = Date.UTC(2026, 0, 15, 12);
const FROM = END - 2 * HOUR;

/**
 * A latency from the rollup against the span read's: equal to 1e-6 ms over windows up to an
 * hour; within the histograms' 1 % (and 1 µs around zero) over longer ones.
 */
function expectLatency(actual: number | null, expected: unknown, window: TimeWindow): void {
  if (expected === null) {
    expect(actual).toBeNull();
    return;
  }
  const want = Number(expected);
  if (window.toMs - window.fromMs <= EXACT_QUANTILES_MAX_WINDOW_MS) expect(actual).toBeCloseTo(want, 6);
  else expect(Math.abs(actual! - want)).toBeLessThanOrEqual(0.01 * Math.abs(want) + 0.001);
}

/** Reads the reference (span) SQL through the store's own reader. */
function reference(store: DuckDbStore, statement: Statement): Promise<Record<string, unknown>[]> {
  return (store as unknown as { client: DuckDbClient }).client.run(statement);
}

function batchesLikeExporters(): SpanRow[][] {
  const conversations = [...generateFlows({ totalSpans: 30_000, fromMs: FROM, toMs: END - MINUTE, seed: 7, batchSpans: 1000 })].flatMap(
    (batch) => batch.conversations,
  );
  const batches: SpanRow[][] = [];
  let current: SpanRow[] = [];
  let late: SpanRow[] = [];
  conversations.forEach((c, i) => {
    const isSend = (s: SpanRow) => s.kind === 'producer';
    if (i % 3 === 0) {
      // Sends exported after the attempts they caused (next batch).
      current.push(...c.spans.filter((s) => !isSend(s)));
      late.push(...c.spans.filter(isSend));
    } else {
      current.push(...c.spans);
    }
    if (current.length >= 1500) {
      batches.push(current);
      current = late;
      late = [];
    }
  });
  batches.push([...current, ...late]);
  return batches;
}

/** A message processed twice by one service, 50 minutes and many batches apart. */
function repeatAcrossBatches(template: SpanRow): [SpanRow, SpanRow] {
  const first: SpanRow = {
    ...template,
    traceId: 'ab'.repeat(16),
    spanId: 'cd'.repeat(8),
    messageId: 'late-repeat',
    outcome: 'processed',
    attempt: 1,
    outgoingMessageIds: [],
  };
  return [first, { ...first, spanId: 'ce'.repeat(8), startNs: first.startNs + 50n * 60_000_000_000n, attempt: 2 }];
}

/**
 * Outbox pairs: an attempt that lists `outbox-<n>` and commits 5 ms after it starts, and the
 * dispatch of that id (n + 20) ms after the commit. Returned as [attempt, dispatch].
 */
function outboxPair(template: SpanRow, n: number): [SpanRow, SpanRow] {
  const committedMs = Number(template.startNs / 1_000_000n) + 5;
  const listing: SpanRow = {
    ...template,
    spanId: `a${String(n).padStart(15, '0')}`,
    outcome: 'processed',
    messageId: `outbox-source-${n}`,
    outgoingMessageIds: [`outbox-${n}`],
    attributes: { ...template.attributes, [ATTR_COMMITTED_AT_MS]: String(committedMs) },
  };
  const dispatch: SpanRow = {
    ...template,
    spanId: `d${String(n).padStart(15, '0')}`,
    kind: 'producer',
    operation: 'publish',
    outcome: '',
    attempt: 0,
    messageId: `outbox-${n}`,
    outgoingMessageIds: [],
    startNs: BigInt(committedMs + 20 + n) * 1_000_000n,
    attributes: { ...template.attributes, [ATTR_OUTBOX_DISPATCH]: 'true' },
  };
  return [listing, dispatch];
}

describe('DuckDB rollup', () => {
  const store = new DuckDbStore({ path: ':memory:' });
  let spans: SpanRow[] = [];
  let lateRepeat: [SpanRow, SpanRow];

  beforeAll(async () => {
    await store.init();
    const batches = batchesLikeExporters();
    const attempt = batches[0].find((s) => s.kind === 'consumer' && s.outcome === 'processed')!;
    const [first, again] = repeatAcrossBatches({ ...attempt, startNs: attempt.startNs + 1_000_000n });
    lateRepeat = [first, again];
    batches[1].push(first);
    batches[batches.length - 2].push(again);
    // Processed attempts without a message id: no identity, never duplicates.
    const unidentified = { ...first, messageId: '', traceId: 'ef'.repeat(16) };
    batches[3].push({ ...unidentified, spanId: 'e1'.repeat(8) });
    batches[4].push({ ...unidentified, spanId: 'e2'.repeat(8), startNs: unidentified.startNs + 1_000_000n });
    // Attempts in error with no outcome (consumers that only set the span status): failures.
    for (const [i, batch] of batches.entries()) {
      const processed = batch.find((s) => s.kind === 'consumer' && s.outcome === 'processed');
      if (processed && i % 2 === 0)
        batch.push({
          ...processed,
          spanId: `f${String(i).padStart(15, '0')}`,
          outcome: '',
          statusCode: 'error',
          startNs: processed.startNs + 2_000_000n,
        });
    }
    // Outbox dispatches stored in the same batch as, before and after the attempts that listed them.
    for (let n = 0; n < 12; n++) {
      const template = batches[n].find((s) => s.kind === 'consumer')!;
      const [listing, dispatch] = outboxPair(template, n);
      const order = n % 3;
      batches[n + 2].push(order === 1 ? dispatch : listing);
      batches[order === 0 ? n + 2 : n + 5].push(order === 1 ? listing : dispatch);
    }
    for (const [i, batch] of batches.entries()) {
      await store.insertSpans(batch);
      // A read in between makes the job run on what has arrived so far.
      if (i % 4 === 1) await store.edgeAggregates({ fromMs: FROM, toMs: END });
    }
    await store.insertSpans(batches[2]);
    spans = batches.flat();
  }, 60_000);

  afterAll(async () => {
    await store.close();
  });

  it('holds the generated traffic with every kind of entry', async () => {
    expect(await store.spanCount()).toBe(new Set(spans.map((s) => `${s.traceId}/${s.spanId}`)).size);
    const edges = await store.edgeAggregates({ fromMs: FROM, toMs: END });
    expect(new Set(edges.map((e) => e.kind))).toEqual(new Set(['send', 'consume', 'http']));
    expect(edges.reduce((sum, e) => sum + e.duplicateProcessings, 0)).toBeGreaterThan(3);
    expect(edges.reduce((sum, e) => sum + e.duplicates, 0)).toBeGreaterThan(10);
    const trend = await store.spanBuckets({ fromMs: FROM, toMs: END }, HOUR, 'service');
    expect(trend.filter((row) => row.group === '' && row.outboxDispatchP50Ms !== null).length).toBeGreaterThan(0);
    expect(edges.reduce((sum, e) => sum + e.retries, 0)).toBeGreaterThan(10);
    const activity = await store.activityBuckets({ fromMs: FROM, toMs: END }, 5 * MINUTE);
    for (const count of ['duplicateDeliveries', 'duplicateProcessings', 'retries', 'failures', 'deadLetters'] as const) {
      expect(
        activity.reduce((sum, row) => sum + row[count], 0),
        count,
      ).toBeGreaterThan(0);
    }
  });

  const windows: [string, TimeWindow][] = [
    ['the whole aligned window (histograms)', { fromMs: FROM, toMs: END }],
    ['an unaligned window (histograms)', { fromMs: FROM + 17_500, toMs: END - 3_250 }],
    ['an unaligned hour (samples)', { fromMs: FROM + 20 * MINUTE + 17_500, toMs: FROM + 80 * MINUTE + 17_500 }],
    ['a window inside one minute', { fromMs: FROM + 30 * MINUTE + 1_000, toMs: FROM + 30 * MINUTE + 59_000 }],
  ];

  describe.each(windows)('over %s', (_label, window) => {
    it.each([
      [MINUTE, 'service'],
      [10 * MINUTE, 'messageType'],
      [HOUR, 'destination'],
    ] as const)('buckets spans like the span read (step %i, by %s)', async (step, by) => {
      const expected = await reference(store, spanBucketsSql(window, step, by));
      const rows = await store.spanBuckets(window, step, by);
      expect(rows.length).toBe(expected.length);
      expect(rows.length).toBeGreaterThan(0);
      rows.forEach((row, i) => {
        const want = expected[i];
        expect([row.timeMs, row.group, row.sent, row.processed, row.duplicateDeliveries, row.duplicateProcessings]).toEqual(
          [want.time_ms, want.grp, want.sent, want.processed, want.duplicate_deliveries, want.duplicate_processings].map((v, k) =>
            k === 1 ? v : Number(v),
          ),
        );
        expect([row.retries, row.failures, row.deadLetters, row.offloads, row.offloadedBytes]).toEqual(
          [want.retries, want.failures, want.dead_letters, want.offloads, want.offloaded_bytes].map(Number),
        );
        for (const [field, column] of [
          ['processingP50Ms', 'processing_p50'],
          ['processingP99Ms', 'processing_p99'],
          ['queueLatencyP50Ms', 'queue_p50'],
          ['queueLatencyP95Ms', 'queue_p95'],
          ['outboxDispatchP50Ms', 'outbox_p50'],
          ['outboxDispatchP99Ms', 'outbox_p99'],
        ] as const) {
          expectLatency(row[field], want[column], window);
        }
      });
    });

    it('buckets attempts for storm detection like the span read', async () => {
      const expected = await reference(store, activityBucketsSql(window, 5 * MINUTE));
      expect(await store.activityBuckets(window, 5 * MINUTE)).toEqual(expected.map(activityBucketRow));
    });

    it('aggregates edges like the span read', async () => {
      const expected = await reference(store, edgeAggregatesSql(window));
      const rows = await store.edgeAggregates(window);
      expect(
        rows.map((r) => [r.kind, r.source, r.target, r.messageTypes, r.count, r.errors, r.duplicates, r.duplicateProcessings, r.retries]),
      ).toEqual(
        expected.map((r) => [
          r.kind,
          r.source,
          r.target,
          r.message_types,
          Number(r.n),
          Number(r.errors),
          Number(r.duplicates),
          Number(r.duplicate_processings),
          Number(r.retries),
        ]),
      );
      rows.forEach((row, i) => {
        expectLatency(row.latencyP50Ms, expected[i].latency_p50, window);
        expectLatency(row.latencyP99Ms, expected[i].latency_p99, window);
      });
    });
  });

  it('counts a repeat processing stored many batches after the first', async () => {
    const window = { fromMs: FROM, toMs: END };
    // The store catches the rollup up; the span read reads its repeats as they are then.
    const rows = await store.spanBuckets(window, 2 * HOUR, 'service');
    const expected = await reference(store, spanBucketsSql(window, 2 * HOUR, 'service'));
    expect(rows.map((r) => r.duplicateProcessings)).toEqual(expected.map((r) => Number(r.duplicate_processings)));
    const total = rows.find((r) => r.group === '')!;
    const perMinute = await store.spanBuckets(window, MINUTE, 'service');
    // 50 minutes apart: counted once in the minute of the repeat, as in the 2-hour bucket.
    const inMinutes = perMinute.filter((r) => r.group === '').reduce((sum, r) => sum + r.duplicateProcessings, 0);
    expect(total.duplicateProcessings).toBeGreaterThan(0);
    expect(inMinutes).toBe(total.duplicateProcessings);
    // The window that starts after the first processing still counts the repeat.
    const afterFirst = { fromMs: Number(lateRepeat[0].startNs / 1_000_000n) + MINUTE, toMs: END };
    const repeatBucket = Math.floor(Number(lateRepeat[1].startNs / 1_000_000n) / MINUTE) * MINUTE;
    const later = await store.spanBuckets(afterFirst, MINUTE, 'service');
    expect(later.find((r) => r.group === '' && r.timeMs === repeatBucket)!.duplicateProcessings).toBeGreaterThanOrEqual(1);
  });

  it('drops and rebuilds rollup rows with retention, matching the span read afterwards', async () => {
    const cutoff = FROM + 40 * MINUTE + 12_345;
    await store.deleteOlderThan(cutoff);
    const window = { fromMs: FROM, toMs: END };
    for (const step of [MINUTE, HOUR]) {
      const expected = await reference(store, spanBucketsSql(window, step, 'service'));
      const rows = await store.spanBuckets(window, step, 'service');
      expect(rows.map((r) => [r.timeMs, r.group, r.sent, r.processed, r.duplicateProcessings, r.retries])).toEqual(
        expected.map((r) => [
          Number(r.time_ms),
          r.grp,
          Number(r.sent),
          Number(r.processed),
          Number(r.duplicate_processings),
          Number(r.retries),
        ]),
      );
      expect(rows[0].timeMs).toBeGreaterThanOrEqual(Math.floor(cutoff / step) * step);
    }
    const edges = await store.edgeAggregates(window);
    const expected = await reference(store, edgeAggregatesSql(window));
    expect(edges.map((e) => e.count)).toEqual(expected.map((e) => Number(e.n)));
  });
});
