/**
 * FlowRecord ⇄ rows of the `flows` table. Anomalies live inside the record as a Nested column
 * (parallel arrays), so `listAnomalies` can ARRAY JOIN them with filters; per-kind counts are
 * parallel arrays too (18.16 has no Map).
 */
import type { Anomaly, AnomalyKind, FlowRecord, FlowState, FlowSummary, Ledger, Severity, Verdict } from '../../model/flow.js';
import { LEDGER_NOT_JUDGED } from '../flow-ledger.js';

export const FLOW_COLUMNS = [
  'conversation_id',
  'start_ms',
  'end_ms',
  'duration_ms',
  'complete',
  'state',
  'services',
  'message_types',
  'root_type',
  'message_count',
  'span_count',
  'idempotency_keys',
  'business_keys',
  'anomaly_kinds',
  'anomaly_kind_counts',
  'worst_severity',
  'verdict',
  'ledger',
  'anomalies.kind',
  'anomalies.severity',
  'anomalies.message_id',
  'anomalies.message_type',
  'anomalies.service',
  'anomalies.detail',
  'anomalies.time_ms',
  'anomalies.endpoint',
  'analyzed_at_ms',
  'version',
] as const;

const finite = (value: number) => (Number.isFinite(value) ? value : 0);

export function toFlowInsertRow(record: FlowRecord): Record<string, unknown> {
  const kinds = Object.keys(record.anomalyCounts) as AnomalyKind[];
  const anomalies = record.anomalies;
  return {
    conversation_id: record.conversationId,
    start_ms: finite(record.startMs),
    end_ms: finite(record.endMs),
    duration_ms: finite(record.durationMs),
    complete: record.complete ? 1 : 0,
    state: record.state,
    services: record.services,
    message_types: record.messageTypes,
    root_type: record.rootType,
    message_count: record.messageCount,
    span_count: record.spanCount,
    idempotency_keys: record.idempotencyKeys,
    business_keys: record.businessKeys,
    anomaly_kinds: kinds,
    anomaly_kind_counts: kinds.map((kind) => record.anomalyCounts[kind] ?? 0),
    worst_severity: record.worstSeverity ?? '',
    verdict: record.verdict,
    ledger: JSON.stringify(record.ledger),
    'anomalies.kind': anomalies.map((a) => a.kind),
    'anomalies.severity': anomalies.map((a) => a.severity),
    'anomalies.message_id': anomalies.map((a) => a.messageId),
    'anomalies.message_type': anomalies.map((a) => a.messageType),
    'anomalies.service': anomalies.map((a) => a.service),
    'anomalies.detail': anomalies.map((a) => a.detail),
    'anomalies.time_ms': anomalies.map((a) => finite(a.timeMs)),
    'anomalies.endpoint': anomalies.map((a) => a.endpoint),
    analyzed_at_ms: finite(record.analyzedAtMs),
    // ReplacingMergeTree needs an unsigned version: microseconds keep sub-ms analysis order.
    version: String(Math.max(0, Math.round(finite(record.analyzedAtMs) * 1000))),
  };
}

export type FlowSelectRow = Record<(typeof FLOW_COLUMNS)[number], unknown>;

export function fromFlowSelectRow(row: FlowSelectRow): FlowRecord {
  const kinds = row.anomaly_kinds as AnomalyKind[];
  const counts = row.anomaly_kind_counts as number[];
  const anomalyCounts: Partial<Record<AnomalyKind, number>> = {};
  kinds.forEach((kind, i) => (anomalyCounts[kind] = Number(counts[i])));
  const conversationId = row.conversation_id as string;
  const severities = row['anomalies.severity'] as Severity[];
  const messageIds = row['anomalies.message_id'] as string[];
  const messageTypes = row['anomalies.message_type'] as string[];
  const services = row['anomalies.service'] as string[];
  const details = row['anomalies.detail'] as string[];
  const times = row['anomalies.time_ms'] as number[];
  const endpoints = row['anomalies.endpoint'] as string[];
  const anomalies: Anomaly[] = (row['anomalies.kind'] as AnomalyKind[]).map((kind, i) => ({
    kind,
    severity: severities[i],
    conversationId,
    messageId: messageIds[i],
    messageType: messageTypes[i],
    service: services[i],
    // Anomalies stored before endpoints were recorded are about their service.
    endpoint: endpoints[i] || services[i],
    detail: details[i],
    timeMs: Number(times[i]),
  }));
  return {
    conversationId,
    startMs: Number(row.start_ms),
    endMs: Number(row.end_ms),
    durationMs: Number(row.duration_ms),
    complete: Number(row.complete) === 1,
    state: row.state as FlowState,
    services: row.services as string[],
    messageTypes: row.message_types as string[],
    rootType: row.root_type as string,
    messageCount: Number(row.message_count),
    spanCount: Number(row.span_count),
    idempotencyKeys: row.idempotency_keys as string[],
    businessKeys: row.business_keys as string[],
    anomalyCounts,
    worstSeverity: row.worst_severity === '' ? null : (row.worst_severity as Severity),
    // '' in a record saved before the ledger: read as not judged.
    ledger: row.ledger ? (JSON.parse(row.ledger as string) as Ledger) : LEDGER_NOT_JUDGED,
    verdict: row.ledger ? (row.verdict as Verdict) : 'unknown',
    anomalies,
    analyzedAtMs: Number(row.analyzed_at_ms),
  };
}

/** A summary row of a flows page (the record's columns without its anomalies). */
export function summaryFromRow(row: FlowSelectRow): FlowSummary {
  const {
    anomalies: _anomalies,
    analyzedAtMs: _analyzedAtMs,
    ...summary
  } = fromFlowSelectRow({
    ...row,
    'anomalies.kind': [],
    'anomalies.severity': [],
    'anomalies.message_id': [],
    'anomalies.message_type': [],
    'anomalies.service': [],
    'anomalies.detail': [],
    'anomalies.time_ms': [],
    'anomalies.endpoint': [],
    analyzed_at_ms: 0,
    version: '0',
  });
  return summary;
}

/** A row of `flow-queries.ts#anomaliesSql`. */
export interface AnomalySelectRow {
  conversation_id: string;
  kind: AnomalyKind;
  severity: Anomaly['severity'];
  message_id: string;
  message_type: string;
  service: string;
  detail: string;
  time_ms: number;
  endpoint: string;
}

export function anomalyFromRow(row: AnomalySelectRow): Anomaly {
  return {
    kind: row.kind,
    severity: row.severity,
    conversationId: row.conversation_id,
    messageId: row.message_id,
    messageType: row.message_type,
    service: row.service,
    endpoint: row.endpoint || row.service,
    detail: row.detail,
    timeMs: Number(row.time_ms),
  };
}
