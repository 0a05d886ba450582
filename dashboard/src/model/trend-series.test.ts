import { describe, expect, it } from 'vitest';
import { groupedSeries, OTHER_GROUP, totalsSeries } from './trend-series.js';
import { makeBucket, makeTrends } from './testing/builders.js';

describe('totalsSeries', () => {
  it('fills quiet buckets with zero counts and null latencies', () => {
    const trends = makeTrends([
      makeBucket({ timeMs: 0, processed: 10, processingP95Ms: 40 }),
      makeBucket({ timeMs: 0, group: 'billing', processed: 10 }),
      makeBucket({ timeMs: 120_000, processed: 4, processingP95Ms: 55 }),
    ]);
    const rows = totalsSeries(trends, ['processed', 'processingP95Ms']);
    expect(rows.map((r) => r.timeMs)).toEqual([0, 60_000, 120_000, 180_000, 240_000]);
    expect(rows.map((r) => r.processed)).toEqual([10, 0, 4, 0, 0]);
    expect(rows.map((r) => r.processingP95Ms)).toEqual([40, null, 55, null, null]);
  });
});

describe('groupedSeries', () => {
  const trends = makeTrends(
    [
      makeBucket({ timeMs: 0, group: 'a', retries: 9 }),
      makeBucket({ timeMs: 0, group: 'b', retries: 5 }),
      makeBucket({ timeMs: 60_000, group: 'c', retries: 2 }),
      makeBucket({ timeMs: 60_000, group: 'd', retries: 1 }),
      makeBucket({ timeMs: 60_000, group: 'quiet', retries: 0 }),
    ],
    { toMs: 120_000 },
  );

  it('keeps the largest groups and sums the rest as other', () => {
    const series = groupedSeries(trends, 'retries', 2);
    expect(series.groups).toEqual(['a', 'b', OTHER_GROUP]);
    expect(series.rows).toEqual([
      { timeMs: 0, a: 9, b: 5, other: 0 },
      { timeMs: 60_000, a: 0, b: 0, other: 3 },
    ]);
  });

  it('leaves out groups that never had the metric', () => {
    expect(groupedSeries(trends, 'retries', 10).groups).toEqual(['a', 'b', 'c', 'd']);
  });
});
