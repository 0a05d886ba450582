/**
 * The indexed shape of one conversation (attempts, sends, messages) that the conversation
 * model's steps build and the detectors, the ledger and the flow assembly read.
 */
import type { Outcome } from '@onceflow/instrumentation/semconv';
import type { AnomalyKind, CausationEdge, Delivery, HttpCall, MessageStatus, Send } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';

/** One processing attempt: a consumer span plus any nested spans of the same attempt. */
export interface AttemptModel {
  /** The outermost span of the attempt. */
  span: SpanRow;
  messageId: string;
  messageType: string;
  service: string;
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
  /** Attempts per consuming service, in time order. */
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
}

export interface ConversationModel {
  conversationId: string;
  spanCount: number;
  startMs: number;
  endMs: number;
  now: number;
  quietPeriodMs: number;
  /** The quiet period has not passed since the last span ended: nothing is judged lost yet. */
  active: boolean;
  /** In order of first evidence. */
  messages: MessageModel[];
  messagesById: Map<string, MessageModel>;
  httpCalls: HttpCall[];
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
  quietPeriodMs: number;
}
