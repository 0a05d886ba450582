/**
 * The typed span model: what ingest produces from OTLP, what every store persists and
 * returns, and what the analysis reads. One row per span, identity (traceId, spanId).
 *
 * Onceflow's identity attributes are lifted into columns (see
 * `@onceflow/instrumentation/semconv`); everything else stays in `attributes` /
 * `resourceAttributes` as strings so it can still be searched.
 */
import type { MessagingOperation, Outcome } from '@onceflow/instrumentation/semconv';

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type StatusCode = 'unset' | 'ok' | 'error';

export interface SpanLink {
  traceId: string;
  spanId: string;
  attributes: Record<string, string>;
}

export interface SpanEvent {
  /** Unix epoch nanoseconds. */
  timeNs: bigint;
  name: string;
  attributes: Record<string, string>;
}

export interface SpanRow {
  /** 32 lower-case hex characters. */
  traceId: string;
  /** 16 lower-case hex characters. */
  spanId: string;
  /** 16 lower-case hex characters, or '' for a root span. */
  parentSpanId: string;
  /** `service.name` of the resource ('unknown_service' when absent, as OpenTelemetry does). */
  service: string;
  name: string;
  kind: SpanKind;
  statusCode: StatusCode;
  statusMessage: string;
  /** Start, unix epoch nanoseconds (full precision). */
  startNs: bigint;
  /** Duration in nanoseconds (end - start, never negative). */
  durationNs: number;

  // Onceflow identity ('' / 0 / false when absent).
  messageId: string;
  conversationId: string;
  causationId: string;
  idempotencyKey: string;
  messageType: string;
  /** Delivery attempt, 1-based; 0 when unknown. */
  attempt: number;
  /** '' when the span records no attempt outcome. */
  outcome: Outcome | '';
  payloadBytes: number;
  payloadOffloaded: boolean;
  payloadRef: string;
  /** `messaging.destination.name` (queue, exchange, topic). */
  destination: string;
  /** `messaging.operation.type` (or the legacy `messaging.operation`); '' when not messaging. */
  operation: MessagingOperation | '';
  /** `messaging.system`, e.g. `rabbitmq`. */
  messagingSystem: string;
  /** Ids of the messages the attempt produced (`onceflow.outgoing_message_ids`). */
  outgoingMessageIds: string[];

  links: SpanLink[];
  events: SpanEvent[];
  /** Every span attribute not lifted into a column above, stringified (arrays as JSON). */
  attributes: Record<string, string>;
  /** Every resource attribute, stringified. */
  resourceAttributes: Record<string, string>;
}

/** Nanoseconds → epoch milliseconds (sub-millisecond precision kept as a fraction). */
export function nsToMs(ns: bigint): number {
  return Number(ns / 1000n) / 1000;
}

/** Epoch milliseconds → nanoseconds. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n;
}
