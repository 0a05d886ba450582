import { describe, expect, it } from 'vitest';
import type { ActivityBucketRow } from '../store/span-store.js';
import { detectStorms, type StormOptions } from './storms.js';

const STEP = 60_000;
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const options: StormOptions = { stepMs: STEP, baselineBuckets: 5, factor: 3, floorPerMinute: 10 };

/** One row per minute from T0 with the given duplicate counts (and retries, when given). */
function series(duplicates: number[], extra: Partial<ActivityBucketRow> = {}, retries: number[] = []): ActivityBucketRow[] {
  return duplicates.map((d, i) => ({
    timeMs: T0 + i * STEP,
    service: 'marketing',
    messageType: 'OrderBilled',
    attempts: 100 + d,
    duplicates: d,
    retries: retries[i] ?? 0,
    ...extra,
  }));
}

describe('detectStorms', () => {
  it.each([
    ['a steady rate', [4, 5, 4, 5, 4, 5, 4, 5]],
    ['a burst above the factor but under the floor', [1, 1, 1, 1, 1, 8, 1, 1]],
    ['a burst above the floor but within the factor of a busy baseline', [40, 40, 40, 40, 40, 100, 40]],
    ['a burst in the first bucket, which has no baseline', [90, 2, 2, 2]],
  ])('reports no storm for %s', (_label, counts) => {
    expect(detectStorms(series(counts), options)).toEqual([]);
  });

  it('reports one episode over consecutive stormy buckets, against the baseline before it', () => {
    //  minute:   0  1  2  3  4   5   6   7  8  9
    //  dups:     2  2  2  2  2  30  60  45  2  2
    const storms = detectStorms(series([2, 2, 2, 2, 2, 30, 60, 45, 2, 2]), options);
    expect(storms).toEqual([
      {
        id: `duplicate:marketing:OrderBilled:${T0 + 5 * STEP}`,
        kind: 'duplicate',
        service: 'marketing',
        messageType: 'OrderBilled',
        startMs: T0 + 5 * STEP,
        endMs: T0 + 8 * STEP,
        peakPerMinute: 60,
        baselinePerMinute: 2,
        count: 135,
      },
    ]);
  });

  it('separates two episodes with a calm bucket between them', () => {
    const storms = detectStorms(series([1, 1, 1, 1, 1, 50, 1, 50, 1]), options);
    expect(storms.map((s) => [s.startMs - T0, s.endMs - T0, s.count])).toEqual([
      [5 * STEP, 6 * STEP, 50],
      [7 * STEP, 8 * STEP, 50],
    ]);
  });

  it('counts missing buckets as zero and scales rates to per minute', () => {
    // 30-second buckets: 10 duplicates in one is 20 per minute; only rows with activity exist.
    const rows = [0, 1, 2, 3, 8].map((i) => ({ timeMs: T0 + i * 30_000, service: 's', messageType: 't', attempts: 1, duplicates: i === 8 ? 10 : 1, retries: 0 }));
    const storms = detectStorms(rows, { ...options, stepMs: 30_000 });
    expect(storms).toHaveLength(1);
    expect(storms[0]).toMatchObject({ startMs: T0 + 8 * 30_000, peakPerMinute: 20, count: 10 });
    // Baseline: buckets 3..7 hold 1, 0, 0, 0, 0 → 0.2 per 30 s → 0.4 per minute.
    expect(storms[0].baselinePerMinute).toBeCloseTo(0.4, 9);
  });

  it('detects retry storms separately from duplicate storms, per (service, message type)', () => {
    const rows = [
      ...series([1, 1, 1, 1, 1, 1], {}, [0, 0, 0, 0, 0, 40]),
      ...series([0, 0, 0, 0, 0, 25], { service: 'billing', messageType: 'BillCustomer' }),
    ];
    const storms = detectStorms(rows, options);
    expect(storms.map((s) => [s.kind, s.service, s.messageType, s.count])).toEqual([
      ['duplicate', 'billing', 'BillCustomer', 25],
      ['retry', 'marketing', 'OrderBilled', 40],
    ]);
  });

  it('closes an episode at now when no later rows exist', () => {
    const rows = series([1, 1, 1, 1, 1, 50]);
    const open = detectStorms(rows, options);
    const closed = detectStorms(rows, { ...options, now: T0 + 9 * STEP });
    expect(open[0].endMs).toBe(T0 + 6 * STEP);
    expect(closed[0].endMs).toBe(T0 + 6 * STEP);
    expect(closed).toHaveLength(1);
  });

  it('uses fromMs as the start of the history', () => {
    // The only row is a burst; with history from 5 minutes earlier it is judged (baseline 0).
    const rows = series([0, 0, 0, 0, 0, 30]).slice(5);
    expect(detectStorms(rows, options)).toEqual([]);
    expect(detectStorms(rows, { ...options, fromMs: T0 })).toHaveLength(1);
  });
});
