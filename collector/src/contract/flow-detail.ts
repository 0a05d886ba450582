/**
 * One reconstructed flow, `GET /api/flows/:conversationId`: its messages with every send and
 * processing attempt, the HTTP calls between services, the causation graph and its anomalies.
 */
import { OUTCOMES } from '@onceflow/instrumentation/semconv';
import { z } from 'zod/mini';
import { AnomalyKindSchema, AnomalySchema } from './anomalies.js';
import { FlowSummarySchema } from './flows.js';

/** One consume of a message by one endpoint: a processing attempt. */
export const DeliverySchema = z.object({
  service: z.string(),
  destination: z.string(),
  /** The endpoint that consumed it: `onceflow.endpoint`, else `service/destination`, else the service. */
  endpoint: z.string(),
  /** 1-based; 0 when the consumer did not record it. */
  attempt: z.number(),
  /** '' when the consumer recorded no outcome. */
  outcome: z.union([z.enum(OUTCOMES), z.literal('')]),
  startMs: z.number(),
  durationMs: z.number(),
  traceId: z.string(),
  spanId: z.string(),
  /** Status message or exception message of a failed attempt; '' otherwise. */
  error: z.string(),
  /** For `retry_scheduled`: the delay before the next attempt. */
  retryDelayMs: z.nullable(z.number()),
  /** Whether the broker marked it as a redelivery, or attempt > 1. */
  redelivered: z.boolean(),
  /** When the attempt's transaction committed (`onceflow.committed_at_ms`), null when not recorded. */
  committedAtMs: z.nullable(z.number()),
});
export type Delivery = z.infer<typeof DeliverySchema>;

/** One publish/send of a message. */
export const SendSchema = z.object({
  service: z.string(),
  destination: z.string(),
  startMs: z.number(),
  traceId: z.string(),
  spanId: z.string(),
  /** Span id of the processing attempt that sent it ('' at the boundary). */
  attemptSpanId: z.string(),
  /** The sending attempt failed (did not commit): a delivered message is then a ghost. */
  fromFailedAttempt: z.boolean(),
  /** Sent by the outbox dispatcher after the attempt committed (`onceflow.outbox.dispatch`). */
  outboxDispatch: z.boolean(),
  /** `onceflow.body_digest` of the sent body ('' when not recorded). */
  bodyDigest: z.string(),
});
export type Send = z.infer<typeof SendSchema>;

/**
 * - `processed`: every endpoint that received it processed it (or skipped it as a duplicate)
 * - `in-flight`: sent, not yet processed, quiet period not over
 * - `failing`: delivered, latest attempt failed, not dead-lettered yet
 * - `dead-lettered`
 * - `lost`: sent, never delivered, quiet period over
 */
export const MESSAGE_STATUSES = ['processed', 'in-flight', 'failing', 'dead-lettered', 'lost'] as const;
export const MessageStatusSchema = z.enum(MESSAGE_STATUSES);
export type MessageStatus = z.infer<typeof MessageStatusSchema>;

export const FlowMessageSchema = z.object({
  messageId: z.string(),
  messageType: z.string(),
  causationId: z.string(),
  idempotencyKey: z.string(),
  /** `onceflow.business_key` when the application set one (e.g. an order id). */
  businessKey: z.string(),
  /** Service that sent it ('' when only consumes were seen). */
  producer: z.string(),
  destination: z.string(),
  payloadBytes: z.number(),
  payloadOffloaded: z.boolean(),
  payloadRef: z.string(),
  /** A consumer read the offloaded payload back. */
  payloadFetched: z.boolean(),
  /** Earliest send, epoch ms; null when no send was seen. */
  sentAtMs: z.nullable(z.number()),
  sends: z.array(SendSchema),
  /** Every attempt at every endpoint, in time order. */
  deliveries: z.array(DeliverySchema),
  status: MessageStatusSchema,
  /** Anomaly kinds that concern this message. */
  flags: z.array(AnomalyKindSchema),
});
export type FlowMessage = z.infer<typeof FlowMessageSchema>;

/** An HTTP request between services (or to a third party) within the flow. */
export const HttpCallSchema = z.object({
  client: z.string(),
  /** The serving service when its span was seen, else the peer host (e.g. `payments.example`). */
  server: z.string(),
  method: z.string(),
  /** Route or URL path. */
  target: z.string(),
  statusCode: z.number(),
  idempotencyKey: z.string(),
  startMs: z.number(),
  durationMs: z.number(),
  traceId: z.string(),
  spanId: z.string(),
});
export type HttpCall = z.infer<typeof HttpCallSchema>;

/** Produced-by edge of the causation graph. `from` is a message id, or an HTTP span id at the boundary. */
export const CausationEdgeSchema = z.object({
  from: z.string(),
  to: z.string(),
  via: z.enum(['message', 'http']),
});
export type CausationEdge = z.infer<typeof CausationEdgeSchema>;

/** A reconstructed flow: the summary fields plus everything below. */
export const FlowSchema = z.extend(FlowSummarySchema, {
  messages: z.array(FlowMessageSchema),
  httpCalls: z.array(HttpCallSchema),
  edges: z.array(CausationEdgeSchema),
  anomalies: z.array(AnomalySchema),
  /** Messages are paged for very large flows; counts above are always over the whole flow. */
  page: z.object({ offset: z.number(), limit: z.number(), total: z.number() }),
  /** Spans beyond the store read limit were not analysed. */
  truncated: z.boolean(),
});
export type Flow = z.infer<typeof FlowSchema>;
