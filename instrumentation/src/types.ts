/**
 * Public types of `@onceflow/instrumentation`: the identity a message carries and the
 * options of `startOnceflow`.
 */
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { AmqplibInstrumentationConfig } from '@opentelemetry/instrumentation-amqplib';
import type { ExpressInstrumentationConfig } from '@opentelemetry/instrumentation-express';
import type { HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';
import type { UndiciInstrumentationConfig } from '@opentelemetry/instrumentation-undici';
import type { BodyDigestOption } from './body-digest.js';
import type { OnceflowLogger } from './guard.js';

/** What identifies a message across services, resends and redeliveries. */
export interface MessageIdentity {
  /** Logical message id: the same for every redelivery and resend. */
  messageId: string;
  /** The business flow this message belongs to. */
  conversationId: string;
  /** Id of the message whose processing produced this one; absent at the boundary. */
  causationId?: string;
  /** e.g. `SubmitOrder`. */
  messageType?: string;
  /** Business deduplication key. */
  idempotencyKey?: string;
  /** Delivery attempt at the consumer, 1-based (only on a message being handled). */
  attempt?: number;
  /** Business key (e.g. an order id) from `setBusinessKey`, carried in `onceflow-business-key`. */
  businessKey?: string;
}

/** `true`/`false` switches an instrumentation on or off; an object also configures it. */
export interface OnceflowInstrumentationsConfig {
  amqplib?: boolean | AmqplibInstrumentationConfig;
  http?: boolean | HttpInstrumentationConfig;
  express?: boolean | ExpressInstrumentationConfig;
  undici?: boolean | UndiciInstrumentationConfig;
}

export interface OnceflowOptions {
  serviceName: string;
  /** OTLP/HTTP base URL; default `OTEL_EXPORTER_OTLP_ENDPOINT` or `http://localhost:4318`. */
  endpoint?: string;
  resourceAttributes?: Record<string, string | number | boolean>;
  /** Which automatic instrumentations to run; all four are on by default. */
  instrumentations?: OnceflowInstrumentationsConfig;
  /** Extra span processors, run after Onceflow's own and before the exporting one. */
  spanProcessors?: SpanProcessor[];
  /** Replaces the OTLP exporter (tests pass an `InMemorySpanExporter`). */
  exporter?: SpanExporter;
  /** Where Onceflow's own warnings go (once per cause); default `console.warn`. */
  logger?: OnceflowLogger;
  /**
   * Share of traces kept when they start outside any message (0–1; default 1, or
   * `OTEL_TRACES_SAMPLER_ARG` with `OTEL_TRACES_SAMPLER=parentbased_traceidratio`). Spans that
   * carry message identity (producer, consumer, messaging attributes) are always kept.
   */
  sampleRatio?: number;
  /** Digest of sent bodies (`onceflow.body_digest`): on for bodies up to 256 KiB by default; `false` turns it off. */
  bodyDigest?: BodyDigestOption;
  /** How long this service keeps processed message ids (resource attribute `onceflow.dedup_window_ms`). */
  dedupWindowMs?: number;
}

export interface OnceflowHandle {
  shutdown(): Promise<void>;
  forceFlush(): Promise<void>;
}
