/**
 * Storm detection over the store's activity buckets: for each (service, message type), the
 * duplicate (and, separately, retry) count per bucket is compared with its own trailing
 * baseline — the mean of the previous `baselineBuckets` buckets. A bucket is stormy when its
 * rate exceeds both `factor` × baseline and `floorPerMinute`; consecutive stormy buckets merge
 * into one episode, judged against the baseline frozen at the episode's start (so a long storm
 * does not raise its own bar). The API adds the top keys per storm.
 *
 * The first bucket of the series has no history and is never judged; callers pass rows from
 * `baselineBuckets` buckets before the window they show (and `fromMs` = that start) so the
 * window's first buckets have a baseline. Buckets without a row count as zero.
 */
import type { Storm } from '../model/flow.js';
import type { ActivityBucketRow } from '../store/span-store.js';

export interface StormOptions {
  stepMs: number;
  /** Trailing buckets averaged into the baseline. */
  baselineBuckets: number;
  /** A bucket is stormy above factor × baseline ... */
  factor: number;
  /** ... and above this absolute rate (events per minute). */
  floorPerMinute: number;
  /** Extends the series with empty buckets up to now, so an episode that stopped is closed. */
  now?: number;
  /** Start of the series (aligned down to the step); default: the earliest row. */
  fromMs?: number;
}

export const DEFAULT_STORM_OPTIONS = {
  baselineBuckets: 10,
  factor: 3,
  floorPerMinute: 5,
} as const;

type StormKind = Storm['kind'];
const STORM_KINDS: { kind: StormKind; field: 'duplicates' | 'retries' }[] = [
  { kind: 'duplicate', field: 'duplicates' },
  { kind: 'retry', field: 'retries' },
];

const alignDown = (ms: number, stepMs: number) => Math.floor(ms / stepMs) * stepMs;

export function detectStorms(rows: ActivityBucketRow[], options: StormOptions): Omit<Storm, 'topKeys'>[] {
  const { stepMs, factor, floorPerMinute } = options;
  if (rows.length === 0 || stepMs <= 0) return [];
  const baselineBuckets = Math.max(1, Math.floor(options.baselineBuckets));
  const perMinute = 60_000 / stepMs;

  let firstMs = Infinity;
  let lastMs = -Infinity;
  for (const row of rows) {
    firstMs = Math.min(firstMs, row.timeMs);
    lastMs = Math.max(lastMs, row.timeMs);
  }
  firstMs = alignDown(options.fromMs ?? firstMs, stepMs);
  // The bucket containing `now` is still filling: only complete buckets close an episode.
  if (options.now !== undefined) lastMs = Math.max(lastMs, alignDown(options.now, stepMs) - stepMs);
  lastMs = alignDown(lastMs, stepMs);
  const bucketCount = Math.floor((lastMs - firstMs) / stepMs) + 1;
  if (bucketCount <= 0) return [];

  const series = new Map<string, { service: string; messageType: string; counts: Record<StormKind, Float64Array> }>();
  for (const row of rows) {
    const index = Math.floor((alignDown(row.timeMs, stepMs) - firstMs) / stepMs);
    if (index < 0 || index >= bucketCount) continue;
    const key = `${row.service}\u0000${row.messageType}`;
    let entry = series.get(key);
    if (!entry) {
      entry = {
        service: row.service,
        messageType: row.messageType,
        counts: { duplicate: new Float64Array(bucketCount), retry: new Float64Array(bucketCount) },
      };
      series.set(key, entry);
    }
    entry.counts.duplicate[index] += row.duplicates;
    entry.counts.retry[index] += row.retries;
  }

  const storms: Omit<Storm, 'topKeys'>[] = [];
  for (const { service, messageType, counts } of series.values()) {
    for (const { kind } of STORM_KINDS) {
      const values = counts[kind];
      let windowSum = 0;
      let open: Omit<Storm, 'topKeys' | 'baselinePerMinute'> & { baseline: number } | null = null;
      const close = () => {
        if (!open) return;
        const { baseline, ...rest } = open;
        storms.push({ ...rest, baselinePerMinute: baseline * perMinute });
        open = null;
      };
      for (let i = 0; i < bucketCount; i += 1) {
        const history = Math.min(i, baselineBuckets);
        const baseline = history > 0 ? windowSum / history : 0;
        const rate = values[i] * perMinute;
        const bar = open ? open.baseline : baseline;
        const stormy = history > 0 && rate > factor * bar * perMinute && rate >= floorPerMinute && rate > 0;
        if (stormy) {
          const bucketStart = firstMs + i * stepMs;
          if (!open) {
            open = {
              id: `${kind}:${service}:${messageType}:${bucketStart}`,
              kind,
              service,
              messageType,
              startMs: bucketStart,
              endMs: bucketStart + stepMs,
              peakPerMinute: rate,
              count: 0,
              baseline,
            };
          }
          open.endMs = bucketStart + stepMs;
          open.peakPerMinute = Math.max(open.peakPerMinute, rate);
          open.count += values[i];
        } else {
          close();
        }
        windowSum += values[i];
        if (i >= baselineBuckets) windowSum -= values[i - baselineBuckets];
      }
      close();
    }
  }
  storms.sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : 1));
  return storms;
}
