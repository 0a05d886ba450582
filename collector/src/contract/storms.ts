/**
 * `GET /api/storms`: storm episodes — bursts of one kind of event for one (endpoint, message
 * type) well above the normal that key has learned — ranked by how far above normal they are,
 * and the keys still learning their normal.
 */
import { z } from 'zod/mini';
import { TimeWindowSchema } from './time-window.js';

/**
 * What a storm can be a burst of, and the per-bucket count it is detected on. Adding a kind
 * is one line here, and either the count in both stores' activity buckets (a kind seen on
 * spans) or the kind in `ANOMALY_STORM_KINDS` (a kind the flow records' anomalies carry).
 */
export const STORM_KIND_COUNTS = {
  'duplicate-delivery': 'duplicateDeliveries',
  'duplicate-processing': 'duplicateProcessings',
  retry: 'retries',
  failure: 'failures',
  'dead-letter': 'deadLetters',
  'ghost-message': 'ghostMessages',
  'lost-message': 'lostMessages',
  'inconsistent-output': 'inconsistentOutputs',
} as const;
export type StormKind = keyof typeof STORM_KIND_COUNTS;
export type StormCount = (typeof STORM_KIND_COUNTS)[StormKind];
export const STORM_KINDS = Object.keys(STORM_KIND_COUNTS) as [StormKind, ...StormKind[]];

/**
 * Storm kinds counted from the flow records' anomalies of the same name (verdicts that need a
 * whole flow: no single span shows them), not from the stores' span activity buckets.
 */
export const ANOMALY_STORM_KINDS = ['ghost-message', 'lost-message', 'inconsistent-output'] as const satisfies readonly StormKind[];
export type AnomalyStormKind = (typeof ANOMALY_STORM_KINDS)[number];
/** Storm kinds the stores count from spans (activity buckets and top keys). */
export type SpanStormKind = Exclude<StormKind, AnomalyStormKind>;
export type SpanStormCount = (typeof STORM_KIND_COUNTS)[SpanStormKind];
export type AnomalyStormCount = (typeof STORM_KIND_COUNTS)[AnomalyStormKind];
export const StormKindSchema = z.enum(STORM_KINDS);

/**
 * A burst for one (endpoint, message type) well above its learned baseline (the median of its
 * trailing window), or a step to a new level (`levelShift`).
 */
export const StormSchema = z.object({
  /** Stable: kind, endpoint, message type and start. */
  id: z.string(),
  kind: StormKindSchema,
  /** The consuming service. */
  service: z.string(),
  /** The queue or subscription it consumed from ('' when the spans name none). */
  destination: z.string(),
  /** service + '/' + destination (just the service without a destination). */
  endpoint: z.string(),
  messageType: z.string(),
  startMs: z.number(),
  /** Exclusive; for a level shift, when the new level became the normal. */
  endMs: z.number(),
  /** Highest events per minute in one bucket of the episode. */
  peakPerMinute: z.number(),
  /** Median events per minute of the trailing window before the episode. */
  baselinePerMinute: z.number(),
  /** Robust spread (scaled median absolute deviation, at least Poisson noise) of that window, per minute. */
  spreadPerMinute: z.number(),
  /** How far above normal: (peak − baseline) / spread. Episodes are ranked by it. */
  score: z.number(),
  /** The rate stepped up and stayed: the episode ended when the new level became the normal. */
  levelShift: z.boolean(),
  /** Not seen to end: still above normal at the last bucket read. */
  ongoing: z.boolean(),
  count: z.number(),
  /** Message ids with the most events of the episode's kind during it. */
  topKeys: z.array(z.object({ messageId: z.string(), count: z.number() })),
});
export type Storm = z.infer<typeof StormSchema>;

/** A (endpoint, message type) seen for too short a time to have a baseline: no storm is reported for it yet. */
export const StormLearningKeySchema = z.object({
  service: z.string(),
  destination: z.string(),
  endpoint: z.string(),
  messageType: z.string(),
  /** Start of its first bucket with traffic in the history read. */
  firstSeenMs: z.number(),
  /** From then on its storms are judged. */
  learnedAtMs: z.number(),
});
export type StormLearningKey = z.infer<typeof StormLearningKeySchema>;

export const StormListSchema = z.extend(TimeWindowSchema, {
  stepMs: z.number(),
  /** History a key needs before it is judged. */
  learningMs: z.number(),
  /** Ranked by score, highest first. */
  storms: z.array(StormSchema),
  learning: z.array(StormLearningKeySchema),
});
export type StormList = z.infer<typeof StormListSchema>;
