/** Anomalies: what breaks (or tests) exactly-once in one flow. `GET /api/anomalies` lists them. */
import { z } from 'zod/mini';
import { TimeWindowSchema } from './time-window.js';

export const ANOMALY_KINDS = [
  'duplicate-delivery',
  'duplicate-processing',
  'retry',
  'dead-letter',
  'ghost-message',
  'lost-message',
  'offload',
  'logical-duplicate',
  'out-of-order',
  'missed-delivery',
  'premature-publish',
  'stuck-outbox',
  'inconsistent-output',
  'uncommitted-side-effect',
  'missing-payload',
  'orphaned-payload',
] as const;
export const AnomalyKindSchema = z.enum(ANOMALY_KINDS);
export type AnomalyKind = z.infer<typeof AnomalyKindSchema>;

/**
 * How bad an anomaly is: `info` is handled and healthy (a duplicate delivery that was
 * skipped, an offload), `warning` recovered or harmless this time (a retry that succeeded, a
 * publish before a commit that then succeeded, out of order) or a leak rather than a fault (an
 * orphaned payload), `error` breaks exactly-once (duplicate processing, ghost, lost, missed
 * delivery, stuck outbox, inconsistent output, dead letter, logical duplicate, a side effect of
 * attempts that never committed, a missing payload).
 */
export const SEVERITIES = ['info', 'warning', 'error'] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;

/** Count per anomaly kind; kinds with none are absent. */
export const AnomalyCountsSchema = z.partialRecord(AnomalyKindSchema, z.number());
export type AnomalyCounts = z.infer<typeof AnomalyCountsSchema>;

export const AnomalySchema = z.object({
  kind: AnomalyKindSchema,
  severity: SeveritySchema,
  conversationId: z.string(),
  messageId: z.string(),
  messageType: z.string(),
  /** The service (consuming or producing) the anomaly is about. */
  service: z.string(),
  /**
   * The endpoint it is about: `onceflow.endpoint` when the span declares one, else the service
   * and the queue it consumed from (`billing/billing-queue`), else the service alone.
   */
  endpoint: z.string(),
  /** One line a person can act on, e.g. "OrderBilled processed 2× by marketing (attempts 1, 2)". */
  detail: z.string(),
  /** Epoch ms of the evidence (the offending attempt, or the send of a lost message). */
  timeMs: z.number(),
});
export type Anomaly = z.infer<typeof AnomalySchema>;

/** `GET /api/anomalies`: anomalies of flows that started in the window, newest first. */
export const AnomalyListSchema = z.extend(TimeWindowSchema, {
  anomalies: z.array(AnomalySchema),
});
export type AnomalyList = z.infer<typeof AnomalyListSchema>;
