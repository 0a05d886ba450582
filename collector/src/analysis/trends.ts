/**
 * Trend shaping: the stores bucket and aggregate in SQL (`SpanBucketRow`, `FlowBucketRow`:
 * flow completion, and the ghost, lost, inconsistent-output and premature-publish anomalies
 * of the flow records, as totals);
 * this merges the two row sets into `TrendBucket`s, adds a zero totals row for every empty
 * bucket of the window (charts get a continuous series) and lists the groups by volume.
 *
 * Buckets are aligned to multiples of `stepMs` since the epoch, as the stores bucket them.
 * When a store returns group rows without the totals row for a bucket, the totals' counts are
 * the sum of the groups (exact: each span belongs to one service, type or destination) and its
 * quantiles are null (quantiles do not add up).
 */
import type { TrendBucket, TrendGrouping, TrendMetrics, Trends } from '../model/flow.js';
import type { FlowBucketRow, SpanBucketRow } from '../store/span-store.js';

export interface TrendOptions {
  fromMs: number;
  toMs: number;
  stepMs: number;
  by: TrendGrouping;
}

const COUNT_FIELDS = [
  'sent',
  'processed',
  'duplicateDeliveries',
  'duplicateProcessings',
  'retries',
  'failures',
  'deadLetters',
  'offloads',
  'offloadedBytes',
  'flowsCompleted',
  'incompleteFlows',
  'flowsHeld',
  'flowsViolated',
  'flowsUnknown',
  'ghostMessages',
  'lostMessages',
  'inconsistentOutputs',
  'prematurePublishes',
] as const satisfies readonly (keyof TrendMetrics)[];

export function emptyMetrics(): TrendMetrics {
  return {
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
    flowsCompleted: 0,
    flowCompletionP50Ms: null,
    flowCompletionP95Ms: null,
    incompleteFlows: 0,
    flowsHeld: 0,
    flowsViolated: 0,
    flowsUnknown: 0,
    ghostMessages: 0,
    lostMessages: 0,
    inconsistentOutputs: 0,
    prematurePublishes: 0,
  };
}

export function shapeTrends(spanRows: SpanBucketRow[], flowRows: FlowBucketRow[], options: TrendOptions): Trends {
  const { fromMs, toMs, stepMs, by } = options;
  const buckets = new Map<string, TrendBucket>();
  const bucketFor = (timeMs: number, group: string): TrendBucket => {
    const key = `${timeMs}\u0000${group}`;
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = { timeMs, group, ...emptyMetrics() };
      buckets.set(key, bucket);
    }
    return bucket;
  };

  const totalsSeen = new Set<number>();
  for (const row of spanRows) {
    const { timeMs, group, ...metrics } = row;
    Object.assign(bucketFor(timeMs, group), metrics);
    if (group === '') totalsSeen.add(timeMs);
  }
  // Totals the store left out: counts summed over the groups, quantiles unknown.
  for (const row of spanRows) {
    if (row.group === '' || totalsSeen.has(row.timeMs)) continue;
    const totals = bucketFor(row.timeMs, '');
    totals.sent += row.sent;
    totals.processed += row.processed;
    totals.duplicateDeliveries += row.duplicateDeliveries;
    totals.duplicateProcessings += row.duplicateProcessings;
    totals.retries += row.retries;
    totals.failures += row.failures;
    totals.deadLetters += row.deadLetters;
    totals.offloads += row.offloads;
    totals.offloadedBytes += row.offloadedBytes;
  }
  for (const row of flowRows) {
    const { timeMs, group, ...metrics } = row;
    Object.assign(bucketFor(timeMs, group), metrics);
  }

  if (stepMs > 0 && toMs > fromMs) {
    for (let t = Math.floor(fromMs / stepMs) * stepMs; t < toMs; t += stepMs) bucketFor(t, '');
  }

  const volume = new Map<string, number>();
  for (const bucket of buckets.values()) {
    if (bucket.group === '') continue;
    let total = 0;
    for (const field of COUNT_FIELDS) if (field !== 'offloadedBytes') total += bucket[field];
    volume.set(bucket.group, (volume.get(bucket.group) ?? 0) + total);
  }
  const groups = [...volume.keys()].sort((a, b) => volume.get(b)! - volume.get(a)! || (a < b ? -1 : 1));
  const rank = new Map(groups.map((g, i) => [g, i]));

  const sorted = [...buckets.values()].sort(
    (a, b) => a.timeMs - b.timeMs || (a.group === '' ? -1 : b.group === '' ? 1 : rank.get(a.group)! - rank.get(b.group)!),
  );
  return { fromMs, toMs, stepMs, by, groups, buckets: sorted };
}
