/**
 * Investigate view-model: what changed most between a window and the one before it, per
 * metric and group. Counts are summed over the window; latencies are averaged over the buckets
 * that have them (weighted by processed attempts when known).
 */
import type { TrendGrouping, Trends } from './types.js';
import { METRICS, METRIC_KEYS, type MetricKey } from './trend-series.js';

export type WindowSummary = Map<string, Partial<Record<MetricKey, number>>>;

/** Group ('' = totals) → metric → value over the whole window. */
export function summarizeWindow(trends: Trends): WindowSummary {
  const summary: WindowSummary = new Map();
  const latencyWeights = new Map<string, { sum: number; weight: number }>();
  for (const bucket of trends.buckets) {
    const values = summary.get(bucket.group) ?? {};
    summary.set(bucket.group, values);
    for (const metric of METRIC_KEYS) {
      const value = bucket[metric];
      if (value == null) continue;
      if (METRICS[metric].unit === 'ms') {
        const key = `${bucket.group}\u0000${metric}`;
        const acc = latencyWeights.get(key) ?? { sum: 0, weight: 0 };
        const weight = Math.max(1, bucket.processed);
        acc.sum += value * weight;
        acc.weight += weight;
        latencyWeights.set(key, acc);
      } else values[metric] = (values[metric] ?? 0) + value;
    }
  }
  for (const [key, acc] of latencyWeights) {
    const [group, metric] = key.split('\u0000') as [string, MetricKey];
    summary.get(group)![metric] = acc.sum / acc.weight;
  }
  return summary;
}

export interface MetricChange {
  group: string;
  metric: MetricKey;
  current: number;
  previous: number;
  delta: number;
  /** delta / previous; Infinity when it appeared from nothing. */
  relative: number;
  /** Ranking: relative change damped for small numbers, so 0 → 1 does not beat 100 → 400. */
  score: number;
  worse: boolean;
}

/** Smoothing added to the previous value, per unit, before taking the relative change. */
const DAMPING: Record<string, number> = { count: 2, ms: 200, bytes: 1 << 20 };

export function compareWindows(current: Trends, previous: Trends, limit = 50): MetricChange[] {
  const now = summarizeWindow(current);
  const before = summarizeWindow(previous);
  const groups = new Set([...now.keys(), ...before.keys()]);
  const changes: MetricChange[] = [];
  for (const group of groups) {
    for (const metric of METRIC_KEYS) {
      const info = METRICS[metric];
      const curValue = now.get(group)?.[metric];
      const prevValue = before.get(group)?.[metric];
      // A latency with no samples on one side is unknown, not zero: nothing to compare.
      if (info.unit === 'ms' && (curValue === undefined || prevValue === undefined)) continue;
      const cur = curValue ?? 0;
      const prev = prevValue ?? 0;
      const delta = cur - prev;
      if (Math.abs(delta) < 1e-9) continue;
      const score = Math.abs(delta) / (Math.abs(prev) + DAMPING[info.unit]);
      changes.push({
        group,
        metric,
        current: cur,
        previous: prev,
        delta,
        relative: prev === 0 ? Infinity : delta / prev,
        score,
        worse: info.riseIsBad ? delta > 0 : delta < 0,
      });
    }
  }
  // Worse changes first among equals: an investigation looks for what went wrong.
  return changes.sort((a, b) => b.score - a.score || Number(b.worse) - Number(a.worse)).slice(0, limit);
}

/** Flow-list filters that show the flows behind a change. */
export function flowFiltersForChange(change: Pick<MetricChange, 'group' | 'metric'>, by: TrendGrouping): Record<string, string> {
  const filters: Record<string, string> = {};
  if (change.group) {
    if (by === 'service') filters.service = change.group;
    else if (by === 'messageType') filters.messageType = change.group;
    else filters.q = change.group;
  }
  const anomaly = METRICS[change.metric].anomaly;
  if (anomaly) filters.anomaly = anomaly;
  if (change.metric === 'incompleteFlows') filters.completion = 'incomplete';
  return filters;
}
