/** `GET /api/trends`: counts and latency quantiles per time bucket and group. */
import { z } from 'zod/mini';
import { TimeWindowSchema } from './time-window.js';

/**
 * What `by` groups trend rows by. `endpoint`: a consumer's attempts by service and the queue
 * they consumed from (`billing/billing-queue`; the service alone when the span names no
 * destination), a producer's sends by service.
 */
export const TREND_GROUPINGS = ['service', 'messageType', 'destination', 'endpoint'] as const;
export const TrendGroupingSchema = z.enum(TREND_GROUPINGS);
export type TrendGrouping = z.infer<typeof TrendGroupingSchema>;

export const TrendMetricsSchema = z.object({
  sent: z.number(),
  processed: z.number(),
  duplicateDeliveries: z.number(),
  /**
   * `processed` attempts of a (service, queue consumed from, message id) processed before, in
   * the bucket of the repeat however long ago the first processing was.
   */
  duplicateProcessings: z.number(),
  /** Attempts that failed or scheduled a retry (a redelivery is not a retry). */
  retries: z.number(),
  failures: z.number(),
  deadLetters: z.number(),
  offloads: z.number(),
  offloadedBytes: z.number(),
  processingP50Ms: z.nullable(z.number()),
  processingP95Ms: z.nullable(z.number()),
  processingP99Ms: z.nullable(z.number()),
  queueLatencyP50Ms: z.nullable(z.number()),
  queueLatencyP95Ms: z.nullable(z.number()),
  queueLatencyP99Ms: z.nullable(z.number()),
  /**
   * Outbox dispatch latency: start of a send marked `onceflow.outbox.dispatch` minus
   * `onceflow.committed_at_ms` of the attempt that listed its message id as outgoing; in the
   * bucket and group of the send (by endpoint: the dispatching service); null when none.
   */
  outboxDispatchP50Ms: z.nullable(z.number()),
  outboxDispatchP99Ms: z.nullable(z.number()),
  flowsCompleted: z.number(),
  flowCompletionP50Ms: z.nullable(z.number()),
  flowCompletionP95Ms: z.nullable(z.number()),
  incompleteFlows: z.number(),
  /** Anomalies of these kinds in the latest flow records, in the bucket of their evidence time (totals only). */
  /**
   * Flows whose ledger holds every invariant / violates any / leaves any unknown (and none
   * violated), by flow start: the share of each is its count over their sum.
   */
  flowsHeld: z.number(),
  flowsViolated: z.number(),
  flowsUnknown: z.number(),
  ghostMessages: z.number(),
  lostMessages: z.number(),
  inconsistentOutputs: z.number(),
  prematurePublishes: z.number(),
});
export type TrendMetrics = z.infer<typeof TrendMetricsSchema>;

export const TrendBucketSchema = z.extend(TrendMetricsSchema, {
  timeMs: z.number(),
  /** The service, message type or destination; '' for totals. */
  group: z.string(),
});
export type TrendBucket = z.infer<typeof TrendBucketSchema>;

export const TrendsSchema = z.extend(TimeWindowSchema, {
  stepMs: z.number(),
  by: TrendGroupingSchema,
  groups: z.array(z.string()),
  /** Every (bucket, group) with data, in time order; the `group: ''` rows are the totals. */
  buckets: z.array(TrendBucketSchema),
});
export type Trends = z.infer<typeof TrendsSchema>;
