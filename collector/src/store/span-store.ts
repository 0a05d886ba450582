/**
 * The one storage interface. Ingest writes spans through it, the flow indexer writes flow
 * records, and the query API reads rows and aggregates from it. Every backend (embedded
 * DuckDB, ClickHouse) implements all of it and passes the same conformance suite
 * (`collector/test/store/conformance.ts`).
 *
 * Stores do filtering, grouping and time bucketing in SQL and return small typed rows; the
 * pure analysis in `../analysis` turns those into flows, anomalies, storms, trends and
 * topology.
 */
import type { FlowPage, TimeWindow } from '../contract/index.js';
import type { Anomaly, AnomalyKind, FlowRecord, FlowState, SpanStormKind, TrendGrouping, Verdict } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';

export type { FlowPage, TimeWindow };

export interface FlowQuery extends TimeWindow {
  /** Free text: matches conversation id, message id, idempotency key, business key, message type. */
  q?: string;
  service?: string;
  messageType?: string;
  anomaly?: AnomalyKind;
  complete?: boolean;
  state?: FlowState;
  /** The flow's overall exactly-once verdict. */
  verdict?: Verdict;
  limit: number;
  /** Opaque cursor returned by the previous page. */
  cursor?: string;
}

export interface AnomalyQuery extends TimeWindow {
  kind?: AnomalyKind;
  service?: string;
  limit: number;
}

/** Per (time bucket, group) counts and latency quantiles over spans, computed in SQL. */
export interface SpanBucketRow {
  timeMs: number;
  /** Service, message type or destination; rows with group '' are totals over all groups. */
  group: string;
  /** Producer spans (operation send/publish/create). */
  sent: number;
  /** Attempts with outcome `processed`. */
  processed: number;
  /** Attempts with outcome `duplicate`. */
  duplicateDeliveries: number;
  /**
   * `processed` attempts of an endpoint (service, destination consumed from) and message id
   * that endpoint processed before, counted in the bucket of the repeat however far back the
   * first processing was. Attempts without a message id are never duplicates (no identity).
   * DuckDB is exact; ClickHouse is exact within a bucket and, across buckets, when the repeat
   * was stored after the earlier processing (it resolves the earlier one at insert).
   */
  duplicateProcessings: number;
  /** Attempts with outcome `failed` or `retry_scheduled` (a redelivery is not a retry). */
  retries: number;
  /** Attempts with outcome `failed` or `retry_scheduled`. */
  failures: number;
  deadLetters: number;
  offloads: number;
  offloadedBytes: number;
  /** Duration quantiles of consumer (processing) spans. */
  processingP50Ms: number | null;
  processingP95Ms: number | null;
  processingP99Ms: number | null;
  /** Quantiles of (processing start − earliest send of the same message id). */
  queueLatencyP50Ms: number | null;
  queueLatencyP95Ms: number | null;
  queueLatencyP99Ms: number | null;
  /**
   * Outbox dispatch latency: start of a send marked `onceflow.outbox.dispatch` minus
   * `onceflow.committed_at_ms` of the attempt listing the send's message id as outgoing,
   * bucketed and grouped by the send (by endpoint: the dispatching service). Null when the
   * bucket has no such pair.
   */
  outboxDispatchP50Ms: number | null;
  outboxDispatchP99Ms: number | null;
}

/**
 * Per time bucket, from the flow records: completion figures bucketed by flow start, and
 * anomaly counts bucketed by anomaly time (a bucket may hold either).
 */
export interface FlowBucketRow {
  timeMs: number;
  group: string;
  flowsCompleted: number;
  flowCompletionP50Ms: number | null;
  flowCompletionP95Ms: number | null;
  incompleteFlows: number;
  /**
   * Anomalies of the latest flow records by kind (`ghost-message`, `lost-message`,
   * `inconsistent-output`, `premature-publish`), in the bucket of the anomaly's time (not the
   * flow's start).
   */
  /** Flows by the ledger's overall verdict (`held`, `violated`, `unknown`), by flow start. */
  flowsHeld: number;
  flowsViolated: number;
  flowsUnknown: number;
  ghostMessages: number;
  lostMessages: number;
  inconsistentOutputs: number;
  prematurePublishes: number;
}

/**
 * Per (time bucket, consuming service, destination consumed from, message type): what storm
 * detection reads, one count per storm kind (`STORM_KIND_COUNTS`).
 */
export interface ActivityBucketRow {
  timeMs: number;
  service: string;
  destination: string;
  messageType: string;
  /** Consumer attempts of any outcome. */
  attempts: number;
  /** Outcome `duplicate`. */
  duplicateDeliveries: number;
  /** Outcome `processed` beyond the first per (service, message id) in the bucket. */
  duplicateProcessings: number;
  /** Outcome `failed` or `retry_scheduled` (not redeliveries). */
  retries: number;
  /** Status error with no failed, retry or dead-letter outcome. */
  failures: number;
  /** Outcome `dead_lettered`. */
  deadLetters: number;
}

/** One (endpoint, message type) of the activity buckets. */
export interface ActivityKey {
  service: string;
  destination: string;
  messageType: string;
}

export interface KeyCount {
  messageId: string;
  count: number;
}

/**
 * One aggregated edge of the system map, computed in SQL from single spans (no joins):
 * - `send`:    producer span   → service `source` sent to destination `target`
 * - `consume`: consumer span   → destination `source` delivered to service `target`
 * - `http`:    client span     → service `source` called `target` (peer.service, server.address, or the serving service)
 */
export interface EdgeAggregateRow {
  kind: 'send' | 'consume' | 'http';
  source: string;
  target: string;
  messageTypes: string[];
  count: number;
  errors: number;
  duplicates: number;
  duplicateProcessings: number;
  retries: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
}

/**
 * Instrumentation coverage per (service, endpoint) over a window, computed in SQL from single
 * spans. `endpoint` is the attempt's endpoint (`onceflow.endpoint`, else service/destination,
 * else the service) on rows of attempts, and '' on the row of the service's other spans
 * (sends, HTTP, internal): a send carries no endpoint of its own.
 */
export interface CoverageRow {
  service: string;
  endpoint: string;
  spans: number;
  /** Spans carrying a message id. */
  withMessageId: number;
  /** Spans carrying a conversation id (they belong to a flow). */
  withConversation: number;
  sends: number;
  sendsWithMessageId: number;
  /** Sends carrying `onceflow.body_digest`. */
  sendsWithDigest: number;
  attempts: number;
  attemptsWithMessageId: number;
  /** Attempts carrying `onceflow.outcome`. */
  attemptsWithOutcome: number;
  /** Attempts with outcome `processed`. */
  processed: number;
  /** Processed attempts carrying `onceflow.committed_at_ms`. */
  processedWithCommit: number;
}

/**
 * The export stream numbers (`onceflow.export.stream` / `onceflow.export.seq`) of the spans
 * starting in a window, per (service, stream, time bucket): what `analysis/export-losses.ts`
 * turns into spans lost between the SDK and the store.
 */
export interface ExportSequenceRow {
  service: string;
  stream: string;
  /** Start of the bucket, epoch ms. */
  bucketMs: number;
  minSeq: number;
  maxSeq: number;
  /** Distinct numbers received in the bucket. */
  received: number;
  /** Start of the bucket's first and last span, epoch ms (numbers follow start order). */
  firstStartMs: number;
  lastStartMs: number;
  /**
   * The least and greatest entry count (`onceflow.export.entries`) in the bucket; null when a
   * span of it carries none (an older instrumentation): its losses may then be any span.
   */
  minEntries: number | null;
  maxEntries: number | null;
}

/** A received entry span (consumer or server kind) of an export stream that counts entries. */
export interface ExportEntryRow {
  service: string;
  stream: string;
  /** Its `onceflow.export.entries`: its own number among the stream's entry spans. */
  entries: number;
  /**
   * The message ids of the stream's entry spans before it, the latest first
   * (`onceflow.export.previous_entries`; '' for one without a message id), [] when not given.
   */
  previousEntries: string[];
  startMs: number;
}

export interface ConversationActivity {
  conversationId: string;
  lastMs: number;
}

export interface StoreHealth {
  ok: boolean;
  detail: string;
}

export interface SpanStore {
  /** `duckdb` or `clickhouse`. */
  readonly kind: string;
  /**
   * How many `insertSpans` calls the store can usefully run at once (1 when absent): the
   * receiver lets that many batches be in flight, so the next one is prepared while the
   * previous one commits.
   */
  readonly insertConcurrency?: number;
  /** Creates the schema when missing (idempotent); adapts to the server's version. */
  init(): Promise<void>;
  health(): Promise<StoreHealth>;
  close(): Promise<void>;

  // ---- write -------------------------------------------------------------------------
  /**
   * Stores spans durably: when the promise resolves they survive a crash. Idempotent: a span
   * already stored (same traceId, spanId) is not stored again, and reads never return it twice.
   */
  insertSpans(spans: SpanRow[]): Promise<void>;
  /** Upserts flow records; the one with the latest `analyzedAtMs` per conversation wins. */
  saveFlows(records: FlowRecord[]): Promise<void>;
  /** Drops spans and flow records older than the cutoff (partition drops where possible). */
  deleteOlderThan(cutoffMs: number): Promise<void>;

  // ---- rows --------------------------------------------------------------------------
  /** Spans of one conversation in start order, at most `limit` (the caller detects truncation with limit + 1). */
  spansOfConversation(conversationId: string, limit: number): Promise<SpanRow[]>;
  /**
   * Every span carrying this message id (sends and attempts, across traces) and every span
   * listing it among its outgoing message ids (the attempt that produced it), in start order.
   */
  spansOfMessage(messageId: string, limit: number): Promise<SpanRow[]>;
  spansOfTrace(traceId: string, limit: number): Promise<SpanRow[]>;
  /**
   * Per business key: the spans whose `onceflow.business_key` attribute is exactly that key,
   * across conversations, in read order, at most `limit` (what ordering per business key is
   * judged on); every key asked for is in the map, `[]` when none. One read for all the keys of
   * a flow. Spans of `exceptConversationId` are left out: a caller holding that conversation's
   * spans already does not read them twice.
   */
  spansOfBusinessKeys(businessKeys: readonly string[], limit: number, exceptConversationId?: string): Promise<Map<string, SpanRow[]>>;
  /**
   * Conversation ids whose spans match `q` exactly as a conversation id, message id,
   * idempotency key, trace id, causation id, or any attribute value; most recent first.
   */
  findConversations(q: string, limit: number): Promise<string[]>;
  /** Conversations with spans starting in the window (for the flow indexer), newest activity first. */
  activeConversations(window: TimeWindow, limit: number): Promise<ConversationActivity[]>;
  spanCount(): Promise<number>;

  // ---- flow records ------------------------------------------------------------------
  listFlows(query: FlowQuery): Promise<FlowPage>;
  getFlowRecord(conversationId: string): Promise<FlowRecord | null>;
  listAnomalies(query: AnomalyQuery): Promise<Anomaly[]>;

  // ---- aggregates --------------------------------------------------------------------
  spanBuckets(window: TimeWindow, stepMs: number, by: TrendGrouping): Promise<SpanBucketRow[]>;
  flowBuckets(window: TimeWindow, stepMs: number): Promise<FlowBucketRow[]>;
  activityBuckets(window: TimeWindow, stepMs: number): Promise<ActivityBucketRow[]>;
  /** Message ids with the most events of one storm kind for one (endpoint, message type). */
  topKeys(window: TimeWindow, key: ActivityKey, kind: SpanStormKind, limit: number): Promise<KeyCount[]>;
  edgeAggregates(window: TimeWindow): Promise<EdgeAggregateRow[]>;
  /** Instrumentation coverage counts of the spans starting in the window (one SQL aggregate). */
  coverageAggregates(window: TimeWindow): Promise<CoverageRow[]>;
  /** Export stream numbers of the spans starting in the window, per service, stream and `stepMs` bucket. */
  exportSequences(window: TimeWindow, stepMs: number): Promise<ExportSequenceRow[]>;
  /** The entry spans that count entries and start in the window, by service, stream and number. */
  exportEntries(window: TimeWindow): Promise<ExportEntryRow[]>;
}
