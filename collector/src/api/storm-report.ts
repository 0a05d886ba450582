/**
 * `GET /api/storms`: reads the window's activity buckets and the flow records' anomalies of
 * the anomaly storm kinds (ghost, lost, inconsistent output) with enough history before it for
 * every key to be judged from the window's first bucket, merges the anomalies into the buckets
 * and detects storm episodes (pure analysis), ranks them by how far above normal they are and
 * adds each one's top keys (from the store for span kinds, from the same anomalies otherwise).
 */
import { anomalyTopKeys, isAnomalyStormKind, withAnomalyActivity } from '../analysis/anomaly-activity.js';
import { DEFAULT_STORM_OPTIONS, detectStorms, stormLookbackMs, type StormOptions } from '../analysis/storms.js';
import { ANOMALY_STORM_KINDS, type Anomaly, type Storm, type StormList } from '../model/flow.js';
import type { SpanStore, TimeWindow } from '../store/span-store.js';

/** Top message ids listed per storm. */
const STORM_TOP_KEYS = 5;
/** Storms returned per request (each costs one top-keys query): the highest scores. */
const MAX_STORMS = 100;
/** Learning keys listed per request (the ones judged soonest first). */
const MAX_LEARNING = 500;
/**
 * Anomalies read per anomaly storm kind (the newest: beyond it the oldest history is not
 * read, so a key may learn from a later first bucket — the bound keeps one request's memory
 * small on a store full of one fault).
 */
const MAX_ANOMALIES_PER_KIND = 20_000;

export type StormSettings = Partial<Omit<StormOptions, 'stepMs' | 'now'>>;

export async function reportStorms(
  store: SpanStore,
  window: TimeWindow,
  stepMs: number,
  settings: StormSettings & { now: number },
): Promise<StormList> {
  const options: StormOptions = { ...DEFAULT_STORM_OPTIONS, ...settings, stepMs };
  const historyFromMs = Math.floor(window.fromMs / stepMs) * stepMs - stormLookbackMs(options);
  const history = { fromMs: historyFromMs, toMs: window.toMs };
  const [spanRows, ...perKind] = await Promise.all([
    store.activityBuckets(history, stepMs),
    ...ANOMALY_STORM_KINDS.map((kind) => store.listAnomalies({ ...history, kind, limit: MAX_ANOMALIES_PER_KIND })),
  ]);
  const anomalies: Anomaly[] = perKind.flat();
  const detection = detectStorms(withAnomalyActivity(spanRows, anomalies, stepMs), options);
  const episodes = detection.storms
    .filter((storm) => storm.endMs > window.fromMs)
    .sort((a, b) => b.score - a.score || a.startMs - b.startMs)
    .slice(0, MAX_STORMS);
  const storms: Storm[] = await Promise.all(
    episodes.map(async (storm) => {
      const stormWindow = { fromMs: storm.startMs, toMs: Math.max(storm.endMs, storm.startMs + stepMs) };
      const topKeys = isAnomalyStormKind(storm.kind)
        ? anomalyTopKeys(anomalies, stormWindow, storm, storm.kind, STORM_TOP_KEYS)
        : await store.topKeys(stormWindow, storm, storm.kind, STORM_TOP_KEYS);
      return { ...storm, topKeys };
    }),
  );
  return {
    fromMs: window.fromMs,
    toMs: window.toMs,
    stepMs,
    learningMs: options.learningMs,
    storms,
    learning: detection.learning.slice(0, MAX_LEARNING),
  };
}
