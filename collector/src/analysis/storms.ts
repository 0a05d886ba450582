/**
 * Storm detection over the store's activity buckets (last step of the aggregate pipeline:
 * store buckets → storms → the API adds top keys). For every (endpoint, message type) and
 * every storm kind, each bucket's count is judged against the key's own learned baseline —
 * the median and spread of its trailing window (see robust-baseline.ts):
 *
 * - A key is learning until `learningMs` after its first bucket with traffic: no storm is
 *   reported for it, and the time before that bucket is not history (it is not a zero rate).
 *   Traffic is the rows' attempts (for a producer's ghosts or lost messages, its endpoint's:
 *   see anomaly-activity.ts); a key with none in the rows read learns from its first bucket
 *   with events instead — the anomalies merged in from the flow records.
 *   Buckets in which the key had no traffic at all are not history either: an idle key is
 *   neither calm nor stormy.
 * - A bucket is stormy when its rate is at least `floorPerMinute`, at least `factor` × the
 *   median, and at least `minScore` spreads above it. Consecutive stormy buckets are one
 *   episode, judged against the baseline at its start, and they stay out of the history, so
 *   one burst does not hide the next.
 * - An episode stormy for `levelShiftMs` is a step to a new level, not a storm that lasts:
 *   it ends there marked `levelShift`, and its buckets become the key's history (the new
 *   normal).
 * - The bucket containing `now` is still filling: it can open or extend an episode but never
 *   closes one nor enters the history.
 */
import type { SpanStormCount, Storm, StormCount, StormKind, StormLearningKey } from '../model/flow.js';
import { STORM_KIND_COUNTS, STORM_KINDS } from '../model/flow.js';
import { minimumSpread, scoreAbove, TrailingWindow, type RobustBaseline } from './robust-baseline.js';

/** One bucket of one (endpoint, message type): what the stores' `activityBuckets` return. */
export type SpanActivityRow = {
  timeMs: number;
  /** The consuming service and the destination it consumed from: together, the endpoint. */
  service: string;
  destination: string;
  messageType: string;
  /** Consumer attempts of any outcome: the key's traffic. */
  attempts: number;
} & Record<SpanStormCount, number>;

/** An activity row with the flow records' anomaly counts merged in (see anomaly-activity.ts). */
export type StormBucketRow = SpanActivityRow & Record<StormCount, number>;

export interface StormOptions {
  stepMs: number;
  /** History a key needs, from its first traffic, before its storms are judged. */
  learningMs: number;
  /** Trailing window the baseline is the median of (at least `MIN_BASELINE_BUCKETS` buckets). */
  baselineMs: number;
  /** How long a raised level lasts before it is the new normal. */
  levelShiftMs: number;
  /** A stormy bucket is at least factor × the baseline median ... */
  factor: number;
  /** ... at least this many spreads above it ... */
  minScore: number;
  /** ... and at least this many events per minute. */
  floorPerMinute: number;
  /** Epoch ms: extends the series with quiet buckets up to now, so an episode that stopped is closed. */
  now?: number;
}

const MINUTE_MS = 60_000;

export const DEFAULT_STORM_OPTIONS = {
  learningMs: 30 * MINUTE_MS,
  baselineMs: 30 * MINUTE_MS,
  levelShiftMs: 15 * MINUTE_MS,
  factor: 3,
  minScore: 4,
  floorPerMinute: 5,
} as const satisfies Omit<StormOptions, 'stepMs' | 'now'>;

/** A baseline of fewer buckets than this is not a baseline, whatever the step. */
export const MIN_BASELINE_BUCKETS = 5;

export type DetectedStorm = Omit<Storm, 'topKeys'>;

export interface StormDetection {
  /** In order of start. */
  storms: DetectedStorm[];
  /** Keys still learning at the end of the series. */
  learning: StormLearningKey[];
}

const alignDown = (ms: number, stepMs: number) => Math.floor(ms / stepMs) * stepMs;

/** An endpoint is a service together with the queue or subscription it consumes from. */
export function endpointOf(service: string, destination: string): string {
  return destination ? `${service}/${destination}` : service;
}

function baselineBuckets(options: StormOptions): number {
  return Math.max(MIN_BASELINE_BUCKETS, Math.round(options.baselineMs / options.stepMs));
}

/** How much history to read before a window so that its first bucket can be judged. */
export function stormLookbackMs(options: StormOptions): number {
  return Math.max(options.learningMs, baselineBuckets(options) * options.stepMs);
}

interface KeySeries {
  service: string;
  destination: string;
  endpoint: string;
  messageType: string;
  /** Index of the key's first bucket with traffic (attempts), else with events. */
  first: number;
  /** Index of the key's first bucket with attempts (Infinity: none). */
  firstAttempts: number;
  active: Uint8Array;
  counts: Record<StormKind, Float64Array>;
}

export function detectStorms(rows: readonly StormBucketRow[], options: StormOptions): StormDetection {
  const { stepMs } = options;
  if (!(stepMs > 0)) throw new RangeError(`storms: step must be positive, got ${stepMs}`);
  if (rows.length === 0) return { storms: [], learning: [] };

  let originMs = Infinity;
  let lastMs = -Infinity;
  for (const row of rows) {
    originMs = Math.min(originMs, alignDown(row.timeMs, stepMs));
    lastMs = Math.max(lastMs, alignDown(row.timeMs, stepMs));
  }
  if (options.now !== undefined) lastMs = alignDown(options.now, stepMs);
  const bucketCount = Math.floor((lastMs - originMs) / stepMs) + 1;
  if (bucketCount <= 0) return { storms: [], learning: [] };

  const series = groupByKey(rows, originMs, bucketCount, stepMs);
  const storms: DetectedStorm[] = [];
  const learning: StormLearningKey[] = [];
  const judge = { ...options, originMs, bucketCount, window: baselineBuckets(options) };
  for (const key of series.values()) {
    const firstSeenMs = originMs + key.first * stepMs;
    const learnedAtMs = firstSeenMs + Math.ceil(options.learningMs / stepMs) * stepMs;
    if (learnedAtMs > lastMs) {
      learning.push({
        service: key.service,
        destination: key.destination,
        endpoint: key.endpoint,
        messageType: key.messageType,
        firstSeenMs,
        learnedAtMs,
      });
      continue;
    }
    for (const kind of STORM_KINDS) storms.push(...episodesOf(key, kind, learnedAtMs, judge));
  }
  storms.sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : 1));
  learning.sort(
    (a, b) => a.learnedAtMs - b.learnedAtMs || a.endpoint.localeCompare(b.endpoint) || a.messageType.localeCompare(b.messageType),
  );
  return { storms, learning };
}

function groupByKey(rows: readonly StormBucketRow[], originMs: number, bucketCount: number, stepMs: number): Map<string, KeySeries> {
  const series = new Map<string, KeySeries>();
  for (const row of rows) {
    const index = (alignDown(row.timeMs, stepMs) - originMs) / stepMs;
    if (index >= bucketCount) continue;
    const events = STORM_KINDS.some((kind) => row[STORM_KIND_COUNTS[kind]] > 0);
    if (row.attempts <= 0 && !events) continue;
    const id = `${row.service}\u0000${row.destination}\u0000${row.messageType}`;
    let key = series.get(id);
    if (!key) {
      const counts = Object.fromEntries(STORM_KINDS.map((kind) => [kind, new Float64Array(bucketCount)])) as Record<
        StormKind,
        Float64Array
      >;
      const endpoint = endpointOf(row.service, row.destination);
      key = {
        service: row.service,
        destination: row.destination,
        endpoint,
        messageType: row.messageType,
        first: index,
        firstAttempts: Infinity,
        active: new Uint8Array(bucketCount),
        counts,
      };
      series.set(id, key);
    }
    key.first = Math.min(key.first, index);
    if (row.attempts > 0) key.firstAttempts = Math.min(key.firstAttempts, index);
    key.active[index] = 1;
    for (const kind of STORM_KINDS) key.counts[kind][index] += row[STORM_KIND_COUNTS[kind]];
  }
  for (const key of series.values()) if (key.firstAttempts < Infinity) key.first = key.firstAttempts;
  return series;
}

interface OpenEpisode {
  startIndex: number;
  baseline: RobustBaseline;
  values: number[];
  peak: number;
}

function episodesOf(
  key: KeySeries,
  kind: StormKind,
  learnedAtMs: number,
  judge: StormOptions & { originMs: number; bucketCount: number; window: number },
): DetectedStorm[] {
  const { stepMs, originMs, bucketCount, window } = judge;
  const perMinute = MINUTE_MS / stepMs;
  const levelShiftBuckets = Math.max(2, Math.ceil(judge.levelShiftMs / stepMs));
  const values = key.counts[kind];
  const episodes: DetectedStorm[] = [];
  const history = new TrailingWindow(window);
  let open: OpenEpisode | null = null;

  const stormy = (value: number, baseline: RobustBaseline) =>
    value >= judge.factor * baseline.median && scoreAbove(value, baseline) >= judge.minScore;
  /**
   * The baseline a bucket is stormy against, or null. The spread (the costly part) is only
   * worked out for a bucket the floor, the factor and the least possible spread let through.
   */
  const stormyAgainst = (value: number): RobustBaseline | null => {
    if (value <= 0 || value * perMinute < judge.floorPerMinute) return null;
    if (open) return stormy(value, open.baseline) ? open.baseline : null;
    const centre = history.median();
    if (value < judge.factor * centre || value - centre < judge.minScore * minimumSpread(centre)) return null;
    const baseline = history.baseline();
    return stormy(value, baseline) ? baseline : null;
  };

  const close = (episode: OpenEpisode, levelShift: boolean, ongoing: boolean) => {
    const startMs = originMs + episode.startIndex * stepMs;
    episodes.push({
      id: `${kind}:${key.endpoint}:${key.messageType}:${startMs}`,
      kind,
      service: key.service,
      destination: key.destination,
      endpoint: key.endpoint,
      messageType: key.messageType,
      startMs,
      endMs: startMs + episode.values.length * stepMs,
      peakPerMinute: episode.peak * perMinute,
      baselinePerMinute: episode.baseline.median * perMinute,
      spreadPerMinute: episode.baseline.spread * perMinute,
      score: scoreAbove(episode.peak, episode.baseline),
      levelShift,
      ongoing,
      count: episode.values.reduce((sum, value) => sum + value, 0),
    });
  };

  for (let i = key.first; i < bucketCount; i += 1) {
    const bucketStart = originMs + i * stepMs;
    const filling = judge.now !== undefined && bucketStart + stepMs > judge.now;
    const value = values[i];
    if (!key.active[i] && !open) continue;
    if (bucketStart < learnedAtMs) {
      history.push(value);
      continue;
    }
    const baseline = stormyAgainst(value);
    if (baseline) {
      open ??= { startIndex: i, baseline, values: [], peak: 0 };
      open.values.push(value);
      open.peak = Math.max(open.peak, value);
      if (open.values.length >= levelShiftBuckets && !filling) {
        close(open, true, false);
        for (const raised of open.values) history.push(raised);
        open = null;
      }
      continue;
    }
    if (filling) continue;
    if (open) {
      close(open, false, false);
      open = null;
    }
    if (key.active[i]) history.push(value);
  }
  if (open) close(open, false, true);
  return episodes;
}
