/**
 * `GET /api/storms`: reads the window's activity buckets with enough history before it for
 * every key to be judged from the window's first bucket, detects storm episodes (pure
 * analysis), ranks them by how far above normal they are and adds each one's top keys.
 */
import { DEFAULT_STORM_OPTIONS, detectStorms, stormLookbackMs, type StormOptions } from '../analysis/storms.js';
import type { Storm, StormList } from '../model/flow.js';
import type { SpanStore, TimeWindow } from '../store/span-store.js';

/** Top message ids listed per storm. */
const STORM_TOP_KEYS = 5;
/** Storms returned per request (each costs one top-keys query): the highest scores. */
const MAX_STORMS = 100;
/** Learning keys listed per request (the ones judged soonest first). */
const MAX_LEARNING = 500;

export type StormSettings = Partial<Omit<StormOptions, 'stepMs' | 'now'>>;

export async function reportStorms(
  store: SpanStore,
  window: TimeWindow,
  stepMs: number,
  settings: StormSettings & { now: number },
): Promise<StormList> {
  const options: StormOptions = { ...DEFAULT_STORM_OPTIONS, ...settings, stepMs };
  const historyFromMs = Math.floor(window.fromMs / stepMs) * stepMs - stormLookbackMs(options);
  const rows = await store.activityBuckets({ fromMs: historyFromMs, toMs: window.toMs }, stepMs);
  const detection = detectStorms(rows, options);
  const episodes = detection.storms
    .filter((storm) => storm.endMs > window.fromMs)
    .sort((a, b) => b.score - a.score || a.startMs - b.startMs)
    .slice(0, MAX_STORMS);
  const storms: Storm[] = await Promise.all(
    episodes.map(async (storm) => {
      const stormWindow = { fromMs: storm.startMs, toMs: Math.max(storm.endMs, storm.startMs + stepMs) };
      const topKeys = await store.topKeys(stormWindow, storm, storm.kind, STORM_TOP_KEYS);
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
