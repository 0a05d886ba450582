/**
 * Result rows of the aggregate queries → the typed rows of `span-store.ts`.
 *
 * Both stores alias their aggregate columns the same way (`time_ms`, `grp`, `processing_p50`, …),
 * so one mapper per row type serves both. Drivers return counts as strings (ClickHouse's 64-bit
 * integers) or bigints (DuckDB's HUGEINT/BIGINT); `Number` takes both.
 */
import type {
  ActivityBucketRow,
  CoverageRow,
  EdgeAggregateRow,
  ExportEntryRow,
  ExportSequenceRow,
  FlowBucketRow,
  SpanBucketRow,
} from './span-store.js';

type ResultRow = Record<string, unknown>;

/** The flow verdicts trends count (`FlowBucketRow`), with the column both stores alias them to. */
export const VERDICT_COLUMNS = [
  ['held', 'flows_held'],
  ['violated', 'flows_violated'],
  ['unknown', 'flows_unknown'],
] as const;

/** The anomaly kinds trends count (`FlowBucketRow`), with the column both stores alias them to. */
export const TREND_ANOMALY_COLUMNS = [
  ['ghost-message', 'ghost_messages'],
  ['lost-message', 'lost_messages'],
  ['inconsistent-output', 'inconsistent_outputs'],
  ['premature-publish', 'premature_publishes'],
] as const;

/** A quantile or average: null for an empty group (and for ClickHouse's `nan`). */
export function nullableNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

export function spanBucketRow(row: ResultRow): SpanBucketRow {
  return {
    timeMs: Number(row.time_ms),
    group: row.grp as string,
    sent: Number(row.sent),
    processed: Number(row.processed),
    duplicateDeliveries: Number(row.duplicate_deliveries),
    duplicateProcessings: Number(row.duplicate_processings),
    retries: Number(row.retries),
    failures: Number(row.failures),
    deadLetters: Number(row.dead_letters),
    offloads: Number(row.offloads),
    offloadedBytes: Number(row.offloaded_bytes),
    processingP50Ms: nullableNumber(row.processing_p50),
    processingP95Ms: nullableNumber(row.processing_p95),
    processingP99Ms: nullableNumber(row.processing_p99),
    queueLatencyP50Ms: nullableNumber(row.queue_p50),
    queueLatencyP95Ms: nullableNumber(row.queue_p95),
    queueLatencyP99Ms: nullableNumber(row.queue_p99),
    outboxDispatchP50Ms: nullableNumber(row.outbox_p50),
    outboxDispatchP99Ms: nullableNumber(row.outbox_p99),
  };
}

export function flowBucketRow(row: ResultRow): FlowBucketRow {
  return {
    timeMs: Number(row.time_ms),
    group: '',
    flowsCompleted: Number(row.flows_completed),
    flowCompletionP50Ms: nullableNumber(row.completion_p50),
    flowCompletionP95Ms: nullableNumber(row.completion_p95),
    incompleteFlows: Number(row.incomplete_flows),
    flowsHeld: Number(row.flows_held),
    flowsViolated: Number(row.flows_violated),
    flowsUnknown: Number(row.flows_unknown),
    ghostMessages: Number(row.ghost_messages),
    lostMessages: Number(row.lost_messages),
    inconsistentOutputs: Number(row.inconsistent_outputs),
    prematurePublishes: Number(row.premature_publishes),
  };
}

export function activityBucketRow(row: ResultRow): ActivityBucketRow {
  return {
    timeMs: Number(row.time_ms),
    service: row.service as string,
    destination: row.destination as string,
    messageType: row.message_type as string,
    attempts: Number(row.attempts),
    duplicateDeliveries: Number(row.duplicate_deliveries),
    duplicateProcessings: Number(row.duplicate_processings),
    retries: Number(row.retries),
    failures: Number(row.failures),
    deadLetters: Number(row.dead_letters),
  };
}

export function edgeAggregateRow(row: ResultRow, kind: EdgeAggregateRow['kind']): EdgeAggregateRow {
  return {
    kind,
    source: row.source as string,
    target: row.target as string,
    messageTypes: (row.message_types as string[] | null) ?? [],
    count: Number(row.n),
    errors: Number(row.errors),
    duplicates: Number(row.duplicates),
    duplicateProcessings: Number(row.duplicate_processings),
    retries: Number(row.retries),
    latencyP50Ms: nullableNumber(row.latency_p50),
    latencyP95Ms: nullableNumber(row.latency_p95),
    latencyP99Ms: nullableNumber(row.latency_p99),
  };
}

export function coverageRow(row: ResultRow): CoverageRow {
  return {
    service: row.service as string,
    endpoint: row.endpoint as string,
    spans: Number(row.spans),
    withMessageId: Number(row.with_message_id),
    withConversation: Number(row.with_conversation),
    sends: Number(row.sends),
    sendsWithMessageId: Number(row.sends_with_message_id),
    sendsWithDigest: Number(row.sends_with_digest),
    attempts: Number(row.attempts),
    attemptsWithMessageId: Number(row.attempts_with_message_id),
    attemptsWithOutcome: Number(row.attempts_with_outcome),
    processed: Number(row.processed),
    processedWithCommit: Number(row.processed_with_commit),
  };
}

export function exportSequenceRow(row: ResultRow): ExportSequenceRow {
  return {
    service: row.service as string,
    stream: row.stream as string,
    bucketMs: Number(row.bucket_ms),
    minSeq: Number(row.min_seq),
    maxSeq: Number(row.max_seq),
    received: Number(row.received),
    firstStartMs: Number(row.first_start_ms),
    lastStartMs: Number(row.last_start_ms),
    // Both stores answer -1 for a bucket with a span that does not count entries.
    minEntries: Number(row.min_entries) < 0 ? null : Number(row.min_entries),
    maxEntries: Number(row.max_entries) < 0 ? null : Number(row.max_entries),
  };
}

/** A string array attribute as stored (JSON text); [] for anything else, as a hostile exporter may send. */
function stringList(value: unknown): string[] {
  if (typeof value !== 'string' || !value.startsWith('[')) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed.map((item) => (typeof item === 'string' ? item : '')) : [];
  } catch {
    return [];
  }
}

export function exportEntryRow(row: ResultRow): ExportEntryRow {
  return {
    service: row.service as string,
    stream: row.stream as string,
    entries: Number(row.entries),
    previousEntries: stringList(row.previous_entries),
    startMs: Number(row.start_ms),
  };
}
