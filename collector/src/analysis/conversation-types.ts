/**
 * The indexed shape of one conversation (attempts, sends, messages) that the conversation
 * model's steps build and the detectors, the ledger and the flow assembly read.
 */
import type { BlobOperation, Outcome } from '@onceflow/instrumentation/semconv';
import type { AnomalyKind, CausationEdge, Delivery, HttpCall, MessageStatus, Send } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import type { OrderViolation } from './business-key-order.js';
import type { EntryLoss, ExportLoss } from './export-losses.js';
import type { Subscriptions } from './subscriptions.js';

/** One processing attempt: a consumer span plus any nested spans of the same attempt. */
export interface AttemptModel {
  /** The outermost span of the attempt. */
  span: SpanRow;
  messageId: string;
  messageType: string;
  service: string;
  /** Declared (`onceflow.endpoint`), else service/destination, else the service. */
  endpoint: string;
  /** 1-based; 0 when not recorded. */
  attempt: number;
  /** What the instrumentation recorded ('' when nothing). */
  outcome: Outcome | '';
  /** Recorded outcome; else `failed` when the span status is error; else `processed`. */
  effective: Outcome;
  /** The attempt did not commit: its outcome is failed/retry_scheduled/dead_lettered (or, with no outcome, its status is error). */
  failed: boolean;
  error: string;
  retryDelayMs: number | null;
  startMs: number;
  endMs: number;
  /** When its transaction committed (`onceflow.committed_at_ms`), null when not recorded. */
  committedAtMs: number | null;
  outgoing: string[];
  delivery: Delivery;
}

export interface SendModel {
  span: SpanRow;
  send: Send;
  /** The attempt that sent it (nearest consumer ancestor in the trace); null at the boundary. */
  producer: AttemptModel | null;
  /** Sent again by an attempt of the same message (e.g. a delay-queue retry): not a new production. */
  resend: boolean;
  /** HTTP call (`HttpCall.spanId`) that sent it at the boundary (no message being processed above it), '' otherwise. */
  httpCallId: string;
}

export interface MessageModel {
  id: string;
  type: string;
  causationId: string;
  idempotencyKey: string;
  businessKey: string;
  destination: string;
  payloadBytes: number;
  payloadOffloaded: boolean;
  payloadRef: string;
  sends: SendModel[];
  /** Every attempt at every endpoint, in time order. */
  attempts: AttemptModel[];
  /** Attempts per consuming endpoint, in time order. */
  endpoints: Map<string, AttemptModel[]>;
  /** Attempts that recorded this message among their outgoing message ids. */
  listedBy: AttemptModel[];
  /** Services that read its offloaded payload back. */
  fetchedBy: Set<string>;
  sentAtMs: number | null;
  /** Earliest evidence of the message (send, listing or delivery). */
  firstMs: number;
  status: MessageStatus;
  flags: Set<AnomalyKind>;
  /**
   * Until when the message is not judged lost or missed: its send plus the quiet period of its
   * type, or a scheduled retry's due time plus that period.
   */
  quietUntilMs: number;
}

/** A blob store call (claim check) seen as a client span (`onceflow.blob.operation`). */
export interface BlobOperationModel {
  span: SpanRow;
  operation: BlobOperation;
  ref: string;
  /** Bytes written or read, 0 when not recorded. */
  bytes: number;
  /** A `get` that found nothing (404). */
  missing: boolean;
  startMs: number;
  /** The attempt the call was made in (nearest attempt above it); null outside any. */
  attempt: AttemptModel | null;
}

/** Missing evidence found in the conversation's spans (see evidence-gaps.ts). */
export interface EvidenceGaps {
  /** Per trace id: spans whose parent span never arrived (the trace's first span excepted). */
  orphansByTrace: Map<string, SpanRow[]>;
  /** The same spans per message id and per causation id they carry. */
  orphansByMessage: Map<string, SpanRow[]>;
  /** Services whose message attempts record no outcome at all. */
  outcomelessServices: Set<string>;
}

export interface ConversationModel {
  conversationId: string;
  spanCount: number;
  startMs: number;
  endMs: number;
  now: number;
  quietPeriodMs: number;
  /**
   * The quiet period has not passed since the last span ended, or a message's own quiet period
   * (adapted to its type's delivery latency) or a scheduled retry has not: nothing is judged lost yet.
   */
  active: boolean;
  /** When the flow stops being active (then it is judged), epoch ms. */
  quietUntilMs: number;
  gaps: EvidenceGaps;
  /** Spans lost at export around the flow's time, by any service (from outside the flow). */
  exportLosses: readonly ExportLoss[];
  /** Of those, the entry spans (deliveries, served requests), named by message where known. */
  entryLosses: readonly EntryLoss[];
  /** Per service whose spans are numbered: the start of its latest numbered span received. */
  exportedUntil: ReadonlyMap<string, number>;
  /** Subscribers known per producer and message type; absent when not learned. */
  subscriptions?: Subscriptions;
  /** How long after its commit an outgoing message may stay undispatched before `stuck-outbox`. */
  stuckOutboxAfterMs: number;
  /** In order of first evidence. */
  messages: MessageModel[];
  messagesById: Map<string, MessageModel>;
  httpCalls: HttpCall[];
  /** The attempt each call's client span runs in by the span tree (null: none); calls whose chain of parents breaks are absent. */
  callerOfCall: ReadonlyMap<HttpCall, AttemptModel | null>;
  /** Blob store calls, in time order. */
  blobOperations: BlobOperationModel[];
  edges: CausationEdge[];
  services: string[];
  idempotencyKeys: string[];
  businessKeys: string[];
  /** Method and route of the earliest boundary request, '' when none. */
  boundaryRoute: string;
  /** Name of the earliest span. */
  rootSpanName: string;
}

export interface ModelOptions {
  now: number;
  /** The base quiet period: how long after its last span a flow is still active. */
  quietPeriodMs: number;
  /**
   * Observed delivery latency (send to the end of processing), p99 ms per message type: a
   * message of a slow type is given a longer quiet period (see `quietPeriodFor`).
   */
  deliveryLatencyP99Ms?: ReadonlyMap<string, number>;
  /** Learned subscribers per producer and message type (see subscriptions.ts). */
  subscriptions?: Subscriptions;
  /**
   * Spans lost at export (holes in export streams, see export-losses.ts) around the flow's
   * time, read by the caller with `exportSequences`: none when absent.
   */
  exportLosses?: readonly ExportLoss[];
  /**
   * The entry spans among them (`findEntryLosses`); when absent, every export loss counts as
   * lost entries of unknown messages.
   */
  entryLosses?: readonly EntryLoss[];
  /**
   * Per service whose spans are numbered, the start of its latest numbered span received (read
   * with the losses): a consumer that has sent nothing that started after a message was sent
   * is busy, stalled or down, and cannot show that it never received it.
   */
  exportedUntil?: ReadonlyMap<string, number>;
  /** 30 s by default. */
  stuckOutboxAfterMs?: number;
  /**
   * Order violations of the flow's business keys across conversations (read by the caller with
   * `spansOfBusinessKeys`, found by `orderViolations`): those of this flow become anomalies.
   */
  businessKeyOrder?: readonly OrderViolation[];
}
