/** `GET /api/trends`: counts and latency quantiles per time bucket and group. */
import { z } from 'zod/mini';
import { TimeWindowSchema } from './time-window.js';

/** What `by` groups trend rows by. */
export const TREND_GROUPINGS = ['service', 'messageType', 'destination'] as const;
export const TrendGroupingSchema = z.enum(TREND_GROUPINGS);
export type TrendGrouping = z.infer<typeof TrendGroupingSchema>;

export const TrendMetricsSchema = z.object({
  sent: z.number(),
  processed: z.number(),
  duplicateDeliveries: z.number(),
  duplicateProcessings: z.number(),
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
  flowsCompleted: z.number(),
  flowCompletionP50Ms: z.nullable(z.number()),
  flowCompletionP95Ms: z.nullable(z.number()),
  incompleteFlows: z.number(),
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
