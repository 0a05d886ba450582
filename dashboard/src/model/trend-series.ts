/**
 * Trends view-model: `Trends` buckets → rows recharts can draw. Missing buckets are filled (zero
 * for counts, null for latencies, which recharts draws as a gap) so lines do not interpolate
 * across quiet periods.
 */
import type { AnomalyKind, TrendBucket, TrendMetrics, Trends } from './types.js';

export type MetricKey = keyof TrendMetrics;
export type MetricUnit = 'count' | 'ms' | 'bytes';

export interface MetricInfo {
  label: string;
  unit: MetricUnit;
  /** Whether a rise is bad (for colouring changes). */
  riseIsBad: boolean;
  /** The anomaly kind whose flows explain this metric, for "jump to affected flows". */
  anomaly?: AnomalyKind;
}

export const METRICS: Record<MetricKey, MetricInfo> = {
  sent: { label: 'Sent', unit: 'count', riseIsBad: false },
  processed: { label: 'Processed', unit: 'count', riseIsBad: false },
  duplicateDeliveries: { label: 'Duplicate deliveries', unit: 'count', riseIsBad: true, anomaly: 'duplicate-delivery' },
  duplicateProcessings: { label: 'Duplicate processings', unit: 'count', riseIsBad: true, anomaly: 'duplicate-processing' },
  retries: { label: 'Retries', unit: 'count', riseIsBad: true, anomaly: 'retry' },
  failures: { label: 'Failures', unit: 'count', riseIsBad: true, anomaly: 'retry' },
  deadLetters: { label: 'Dead letters', unit: 'count', riseIsBad: true, anomaly: 'dead-letter' },
  offloads: { label: 'Offloads', unit: 'count', riseIsBad: false, anomaly: 'offload' },
  offloadedBytes: { label: 'Offloaded bytes', unit: 'bytes', riseIsBad: false, anomaly: 'offload' },
  processingP50Ms: { label: 'Processing p50', unit: 'ms', riseIsBad: true },
  processingP95Ms: { label: 'Processing p95', unit: 'ms', riseIsBad: true },
  processingP99Ms: { label: 'Processing p99', unit: 'ms', riseIsBad: true },
  queueLatencyP50Ms: { label: 'Queue latency p50', unit: 'ms', riseIsBad: true },
  queueLatencyP95Ms: { label: 'Queue latency p95', unit: 'ms', riseIsBad: true },
  queueLatencyP99Ms: { label: 'Queue latency p99', unit: 'ms', riseIsBad: true },
  outboxDispatchP50Ms: { label: 'Outbox dispatch p50', unit: 'ms', riseIsBad: true, anomaly: 'stuck-outbox' },
  outboxDispatchP99Ms: { label: 'Outbox dispatch p99', unit: 'ms', riseIsBad: true, anomaly: 'stuck-outbox' },
  flowsCompleted: { label: 'Flows completed', unit: 'count', riseIsBad: false },
  flowCompletionP50Ms: { label: 'Flow completion p50', unit: 'ms', riseIsBad: true },
  flowCompletionP95Ms: { label: 'Flow completion p95', unit: 'ms', riseIsBad: true },
  incompleteFlows: { label: 'Incomplete flows', unit: 'count', riseIsBad: true, anomaly: 'lost-message' },
  flowsHeld: { label: 'Flows held exactly once', unit: 'count', riseIsBad: false },
  flowsViolated: { label: 'Flows violating an invariant', unit: 'count', riseIsBad: true },
  flowsUnknown: { label: 'Flows with an unknown verdict', unit: 'count', riseIsBad: true },
  ghostMessages: { label: 'Ghost messages', unit: 'count', riseIsBad: true, anomaly: 'ghost-message' },
  lostMessages: { label: 'Lost messages', unit: 'count', riseIsBad: true, anomaly: 'lost-message' },
  inconsistentOutputs: { label: 'Inconsistent outputs', unit: 'count', riseIsBad: true, anomaly: 'inconsistent-output' },
  prematurePublishes: { label: 'Premature publishes', unit: 'count', riseIsBad: true, anomaly: 'premature-publish' },
};

export const METRIC_KEYS = Object.keys(METRICS) as MetricKey[];

export type SeriesRow = { timeMs: number } & Record<string, number | null>;

/** Bucket start times from the window start to its end, every `stepMs`. */
export function bucketTimes(trends: Pick<Trends, 'fromMs' | 'toMs' | 'stepMs'>): number[] {
  const times: number[] = [];
  const start = Math.floor(trends.fromMs / trends.stepMs) * trends.stepMs;
  for (let t = start; t < trends.toMs && times.length < 10_000; t += trends.stepMs) times.push(t);
  return times;
}

function emptyValue(metric: MetricKey): number | null {
  return METRICS[metric].unit === 'ms' ? null : 0;
}

/** One row per bucket with every total metric (group ''). */
export function totalsSeries(trends: Trends, metrics: MetricKey[] = METRIC_KEYS): SeriesRow[] {
  const byTime = new Map<number, TrendBucket>();
  for (const bucket of trends.buckets) if (bucket.group === '') byTime.set(bucket.timeMs, bucket);
  const times = new Set([...bucketTimes(trends), ...byTime.keys()]);
  return [...times]
    .sort((a, b) => a - b)
    .map((timeMs) => {
      const bucket = byTime.get(timeMs);
      const row: SeriesRow = { timeMs } as SeriesRow;
      for (const metric of metrics) row[metric] = bucket ? bucket[metric] : emptyValue(metric);
      return row;
    });
}

export interface GroupedSeries {
  /** Shown groups, largest first; `other` sums the rest for count metrics. */
  groups: string[];
  rows: SeriesRow[];
}

export const OTHER_GROUP = 'other';

/** One metric split by group: the `topN` largest groups, the rest summed as `other`. */
export function groupedSeries(trends: Trends, metric: MetricKey, topN = 6): GroupedSeries {
  const perGroup = trends.buckets.filter((b) => b.group !== '');
  const totals = new Map<string, number>();
  for (const bucket of perGroup) totals.set(bucket.group, (totals.get(bucket.group) ?? 0) + (bucket[metric] ?? 0));
  const ranked = [...totals.entries()].filter(([, total]) => total > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = ranked.slice(0, topN).map(([group]) => group);
  const summable = METRICS[metric].unit !== 'ms';
  const hasOther = summable && ranked.length > topN;
  const groups = hasOther ? [...shown, OTHER_GROUP] : shown;
  const shownSet = new Set(shown);

  const rows = new Map<number, SeriesRow>();
  const rowAt = (timeMs: number) => {
    let row = rows.get(timeMs);
    if (!row) {
      row = { timeMs } as SeriesRow;
      for (const group of groups) row[group] = emptyValue(metric);
      rows.set(timeMs, row);
    }
    return row;
  };
  for (const timeMs of bucketTimes(trends)) rowAt(timeMs);
  for (const bucket of perGroup) {
    const row = rowAt(bucket.timeMs);
    if (shownSet.has(bucket.group)) row[bucket.group] = bucket[metric];
    else if (hasOther) row[OTHER_GROUP] = (row[OTHER_GROUP] ?? 0) + (bucket[metric] ?? 0);
  }
  return { groups, rows: [...rows.values()].sort((a, b) => a.timeMs - b.timeMs) };
}
