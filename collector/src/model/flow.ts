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
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/**
 * How bad an anomaly is: `info` is handled and healthy (a duplicate delivery that was
 * skipped, an offload), `warning` recovered (a retry that succeeded), `error` breaks
 * exactly-once (duplicate processing, ghost, lost, dead letter, logical duplicate, out of order).
 */
export type Severity = 'info' | 'warning' | 'error';

export interface Anomaly {
  kind: AnomalyKind;
  severity: Severity;
  conversationId: string;
  messageId: string;
  messageType: string;
  /** The endpoint (consuming or producing service) the anomaly is about. */
  service: string;
  /** One line a person can act on, e.g. "OrderBilled processed 2× by marketing (attempts 1, 2)". */
  detail: string;
  /** Epoch ms of the evidence (the offending attempt, or the send of a lost message). */
  timeMs: number;
}

/** One consume of a message by one endpoint: a processing attempt. */
export interface Delivery {
  service: string;
  destination: string;
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

/**
 * What a storm can be a burst of, and the per-bucket count of the store's activity buckets it
 * is detected on. Adding a kind is one line here (and the count in both stores' buckets).
 */
export const STORM_KIND_COUNTS = {
  'duplicate-delivery': 'duplicateDeliveries',
  'duplicate-processing': 'duplicateProcessings',
  retry: 'retries',
  failure: 'failures',
  'dead-letter': 'deadLetters',
} as const;
export type StormKind = keyof typeof STORM_KIND_COUNTS;
export type StormCount = (typeof STORM_KIND_COUNTS)[StormKind];
export const STORM_KINDS = Object.keys(STORM_KIND_COUNTS) as StormKind[];

/**
 * A burst of one kind of event for one (endpoint, message type) well above its own learned
 * baseline (the median of its trailing window), or a step to a new level (`levelShift`).
 */
export interface Storm {
  /** Stable: kind, endpoint, message type and start. */
  id: string;
  kind: StormKind;
  /** The consuming service. */
  service: string;
  /** The queue or subscription it consumed from ('' when the spans name none). */
  destination: string;
  /** service + '/' + destination (just the service without a destination). */
  endpoint: string;
  messageType: string;
  startMs: number;
  /** Exclusive; for a level shift, when the new level became the normal. */
  endMs: number;
  /** Highest events per minute in one bucket of the episode. */
  peakPerMinute: number;
  /** Median events per minute of the trailing window before the episode. */
  baselinePerMinute: number;
  /** Robust spread (scaled median absolute deviation, at least Poisson noise) of that window, per minute. */
  spreadPerMinute: number;
  /** How far above normal: (peak − baseline) / spread. Episodes are ranked by it. */
  score: number;
  /** The rate stepped up and stayed: the episode ended when the new level became the normal. */
  levelShift: boolean;
  /** Still above normal in the last (possibly incomplete) bucket. */
  ongoing: boolean;
  count: number;
  topKeys: { messageId: string; count: number }[];
}

/** A (endpoint, message type) seen for too short a time to have a baseline: no storm is reported for it yet. */
export interface StormLearningKey {
  service: string;
  destination: string;
  endpoint: string;
  messageType: string;
  /** Start of its first bucket with traffic in the history read. */
  firstSeenMs: number;
  /** From then on its storms are judged. */
  learnedAtMs: number;
}

/** `GET /api/storms`. */
export interface StormReport {
  fromMs: number;
  toMs: number;
  stepMs: number;
  /** History a key needs before it is judged. */
  learningMs: number;
  /** Ranked by score, highest first. */
  storms: Storm[];
  learning: StormLearningKey[];
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
