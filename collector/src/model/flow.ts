/**
 * What Onceflow tells its users: flows, messages, deliveries, anomalies, storms, trends and
 * topology. The analysis produces these, the REST API returns them as JSON (times as epoch
 * milliseconds), and the dashboard renders them. Types only; no logic.
 */
import type { Outcome } from '@onceflow/instrumentation/semconv';

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
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/**
 * How bad an anomaly is: `info` is handled and healthy (a duplicate delivery that was
 * skipped, an offload), `warning` recovered or harmless this time (a retry that succeeded, a
 * publish before a commit that then succeeded), `error` breaks exactly-once (duplicate
 * processing, ghost, lost, missed delivery, stuck outbox, inconsistent output, dead letter,
 * logical duplicate).
 */
export type Severity = 'info' | 'warning' | 'error';

export interface Anomaly {
  kind: AnomalyKind;
  severity: Severity;
  conversationId: string;
  messageId: string;
  messageType: string;
  /** The service (consuming or producing) the anomaly is about. */
  service: string;
  /**
   * The endpoint it is about: `onceflow.endpoint` when the span declares one, else the service
   * and the queue it consumed from (`billing/billing-queue`), else the service alone.
   */
  endpoint: string;
  /** One line a person can act on, e.g. "OrderBilled processed 2× by marketing (attempts 1, 2)". */
  detail: string;
  /** Epoch ms of the evidence (the offending attempt, or the send of a lost message). */
  timeMs: number;
}

/** One consume of a message by one endpoint: a processing attempt. */
export interface Delivery {
  service: string;
  destination: string;
  /** The endpoint that consumed it (see `Anomaly.endpoint`). */
  endpoint: string;
  /** 1-based; 0 when the consumer did not record it. */
  attempt: number;
  /** '' when the consumer recorded no outcome. */
  outcome: Outcome | '';
  startMs: number;
  durationMs: number;
  traceId: string;
  spanId: string;
  /** Status message or exception message of a failed attempt; '' otherwise. */
  error: string;
  /** For `retry_scheduled`: the delay before the next attempt. */
  retryDelayMs: number | null;
  /** Whether the broker marked it as a redelivery, or attempt > 1. */
  redelivered: boolean;
  /** When the attempt's transaction committed (`onceflow.committed_at_ms`), null when not recorded. */
  committedAtMs: number | null;
}

/** One publish/send of a message. */
export interface Send {
  service: string;
  destination: string;
  startMs: number;
  traceId: string;
  spanId: string;
  /** Span id of the processing attempt that sent it ('' at the boundary). */
  attemptSpanId: string;
  /** The sending attempt failed (did not commit): a delivered message is then a ghost. */
  fromFailedAttempt: boolean;
  /** Sent by the outbox dispatcher after the attempt committed (`onceflow.outbox.dispatch`). */
  outboxDispatch: boolean;
  /** `onceflow.body_digest` of the sent body ('' when not recorded). */
  bodyDigest: string;
}

export type MessageStatus =
  | 'processed' // every endpoint that received it processed it (or skipped it as a duplicate)
  | 'in-flight' // sent, not yet processed, quiet period not over
  | 'failing' // delivered, latest attempt failed, not dead-lettered yet
  | 'dead-lettered'
  | 'lost'; // sent, never delivered, quiet period over

export interface FlowMessage {
  messageId: string;
  messageType: string;
  causationId: string;
  idempotencyKey: string;
  /** `onceflow.business_key` when the application set one (e.g. an order id). */
  businessKey: string;
  /** Service that sent it ('' when only consumes were seen). */
  producer: string;
  destination: string;
  payloadBytes: number;
  payloadOffloaded: boolean;
  payloadRef: string;
  /** A consumer read the offloaded payload back. */
  payloadFetched: boolean;
  /** Earliest send, epoch ms; null when no send was seen. */
  sentAtMs: number | null;
  sends: Send[];
  /** Every attempt at every endpoint, in time order. */
  deliveries: Delivery[];
  status: MessageStatus;
  /** Anomaly kinds that concern this message. */
  flags: AnomalyKind[];
}

/** An HTTP request between services (or to a third party) within the flow. */
export interface HttpCall {
  client: string;
  /** The serving service when its span was seen, else the peer host (e.g. `payments.example`). */
  server: string;
  method: string;
  /** Route or URL path. */
  target: string;
  statusCode: number;
  idempotencyKey: string;
  startMs: number;
  durationMs: number;
  traceId: string;
  spanId: string;
}

/** Produced-by edge of the causation graph. `from` is a message id, or an HTTP span id at the boundary. */
export interface CausationEdge {
  from: string;
  to: string;
  via: 'message' | 'http';
}

export type FlowState = 'active' | 'complete' | 'incomplete';

/** The exactly-once invariants every flow is judged on (the seed's TLA+ models). */
export const INVARIANTS = ['noDuplicateProcessing', 'noGhost', 'noLost', 'consistentOutput'] as const;
export type Invariant = (typeof INVARIANTS)[number];

/** `unknown` when evidence is missing: never `violated` on missing evidence. */
export const VERDICTS = ['held', 'violated', 'unknown'] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface InvariantVerdict {
  verdict: Verdict;
  /** Span ids that prove a violation, or that the missing evidence concerns. */
  evidence: string[];
  /** Why: what was violated, or what evidence is missing; '' when held. */
  reason: string;
}

/** One verdict per invariant. */
export type Ledger = Record<Invariant, InvariantVerdict>;

/** One business flow in a list: what the flows explorer shows and filters on. */
export interface FlowSummary {
  conversationId: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  /** Every message sent in the conversation was processed. */
  complete: boolean;
  /** `active` until the quiet period has passed; then `complete` or `incomplete`. */
  state: FlowState;
  services: string[];
  messageTypes: string[];
  /** Type of the first message (or the boundary HTTP route), for a readable title. */
  rootType: string;
  messageCount: number;
  spanCount: number;
  idempotencyKeys: string[];
  businessKeys: string[];
  anomalyCounts: Partial<Record<AnomalyKind, number>>;
  /** Highest severity among its anomalies; null when it has none. */
  worstSeverity: Severity | null;
  /** Per invariant: held, violated (with evidence) or unknown (with the reason). */
  ledger: Ledger;
  /** The flow's overall verdict: `violated` if any invariant is, else `unknown` if any is, else `held`. */
  verdict: Verdict;
}

/** A summary plus its anomalies: what the flow indexer stores and the anomalies list reads. */
export interface FlowRecord extends FlowSummary {
  anomalies: Anomaly[];
  /** Epoch ms when this analysis ran; the latest record of a conversation wins. */
  analyzedAtMs: number;
}

/** A reconstructed flow: `GET /api/flows/:conversationId`. */
export interface Flow extends FlowSummary {
  messages: FlowMessage[];
  httpCalls: HttpCall[];
  edges: CausationEdge[];
  anomalies: Anomaly[];
  /** Messages are paged for very large flows; counts above are always over the whole flow. */
  page: { offset: number; limit: number; total: number };
  /** Spans beyond the store read limit were not analysed. */
  truncated: boolean;
}

/** A burst of duplicates or retries for one (service, message type) well above its baseline. */
export interface Storm {
  id: string;
  kind: 'duplicate' | 'retry';
  service: string;
  messageType: string;
  startMs: number;
  endMs: number;
  /** Highest events per minute in one bucket of the episode. */
  peakPerMinute: number;
  /** Trailing baseline events per minute before the episode. */
  baselinePerMinute: number;
  count: number;
  topKeys: { messageId: string; count: number }[];
}

export type TrendGrouping = 'service' | 'messageType' | 'destination';

export interface TrendMetrics {
  sent: number;
  processed: number;
  duplicateDeliveries: number;
  duplicateProcessings: number;
  retries: number;
  failures: number;
  deadLetters: number;
  offloads: number;
  offloadedBytes: number;
  processingP50Ms: number | null;
  processingP95Ms: number | null;
  processingP99Ms: number | null;
  queueLatencyP50Ms: number | null;
  queueLatencyP95Ms: number | null;
  queueLatencyP99Ms: number | null;
  flowsCompleted: number;
  flowCompletionP50Ms: number | null;
  flowCompletionP95Ms: number | null;
  incompleteFlows: number;
}

export interface TrendBucket extends TrendMetrics {
  timeMs: number;
  /** The service, message type or destination; '' for totals. */
  group: string;
}

export interface Trends {
  fromMs: number;
  toMs: number;
  stepMs: number;
  by: TrendGrouping;
  groups: string[];
  /** Every (bucket, group) with data, in time order; the `group: ''` rows are the totals. */
  buckets: TrendBucket[];
}

export type TopologyNodeKind = 'service' | 'destination' | 'http-peer';

export interface TopologyNode {
  id: string;
  kind: TopologyNodeKind;
  label: string;
}

/**
 * `send` service → destination, `consume` destination → service, `http` service → service or
 * peer; `route` destination → destination, inferred (not observed): messages of its types sent
 * to the source destination arrive in the target (an exchange or topic routing to a subscriber's
 * queue). A route's rates and health are its target's consume side; its latencies are null.
 */
export type TopologyEdgeKind = 'send' | 'consume' | 'http' | 'route';

export interface TopologyEdge {
  id: string;
  source: string;
  target: string;
  kind: TopologyEdgeKind;
  messageTypes: string[];
  count: number;
  perMinute: number;
  /** Fractions 0..1 of `count`. */
  errorRate: number;
  duplicateRate: number;
  retryRate: number;
  duplicateProcessings: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  /** Worst thing on the edge, for colour: duplicate processing > failure > retry > duplicate > ok. */
  health: 'ok' | 'duplicates' | 'retries' | 'failures' | 'duplicate-processing';
}

export interface Topology {
  fromMs: number;
  toMs: number;
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}
