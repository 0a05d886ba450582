/**
 * FlowRecord ⇄ DuckDB rows: one `flows` row per conversation (filter columns plus the summary
 * as JSON) and one `anomalies` row per anomaly, in record order (`seq`).
 */
import type { DuckDBAppender } from '@duckdb/node-api';
import { LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { Anomaly, AnomalyKind, FlowRecord, FlowSummary } from '../../model/flow.js';
import { withLedger } from '../flow-ledger.js';

export function summaryOf(record: FlowRecord): FlowSummary {
  return {
    conversationId: record.conversationId,
    startMs: record.startMs,
    endMs: record.endMs,
    durationMs: record.durationMs,
    complete: record.complete,
    state: record.state,
    services: record.services,
    messageTypes: record.messageTypes,
    rootType: record.rootType,
    messageCount: record.messageCount,
    spanCount: record.spanCount,
    idempotencyKeys: record.idempotencyKeys,
    businessKeys: record.businessKeys,
    anomalyCounts: record.anomalyCounts,
    worstSeverity: record.worstSeverity,
    ledger: record.ledger,
    verdict: record.verdict,
  };
}

/** Kinds with a positive count: what the `anomaly` filter and the per-kind flow counts read. */
export function anomalyKindsOf(record: FlowSummary): AnomalyKind[] {
  return (Object.entries(record.anomalyCounts) as [AnomalyKind, number | undefined][])
    .filter(([, count]) => (count ?? 0) > 0)
    .map(([kind]) => kind)
    .sort();
}

const VARCHAR_LIST = LIST(VARCHAR);

export function appendFlow(appender: DuckDBAppender, record: FlowRecord): void {
  appender.appendVarchar(record.conversationId);
  appender.appendDouble(record.startMs);
  appender.appendDouble(record.endMs);
  appender.appendDouble(record.durationMs);
  appender.appendBoolean(record.complete);
  appender.appendVarchar(record.state);
  appender.appendList(listValue(record.services), VARCHAR_LIST);
  appender.appendList(listValue(record.messageTypes), VARCHAR_LIST);
  appender.appendList(listValue(record.idempotencyKeys), VARCHAR_LIST);
  appender.appendList(listValue(record.businessKeys), VARCHAR_LIST);
  appender.appendList(listValue(anomalyKindsOf(record)), VARCHAR_LIST);
  appender.appendDouble(record.analyzedAtMs);
  appender.appendVarchar(JSON.stringify(summaryOf(record)));
  appender.appendVarchar(record.verdict);
  appender.endRow();
}

export function appendAnomalies(appender: DuckDBAppender, record: FlowRecord): void {
  record.anomalies.forEach((anomaly, seq) => {
    appender.appendVarchar(record.conversationId);
    appender.appendInteger(seq);
    appender.appendVarchar(anomaly.kind);
    appender.appendVarchar(anomaly.severity);
    appender.appendVarchar(anomaly.messageId);
    appender.appendVarchar(anomaly.messageType);
    appender.appendVarchar(anomaly.service);
    appender.appendVarchar(anomaly.detail);
    appender.appendDouble(anomaly.timeMs);
    appender.appendVarchar(anomaly.endpoint);
    appender.endRow();
  });
}

export function anomalyFromRow(row: Record<string, unknown>): Anomaly {
  return {
    kind: row.kind as Anomaly['kind'],
    severity: row.severity as Anomaly['severity'],
    conversationId: row.conversation_id as string,
    messageId: row.message_id as string,
    messageType: row.message_type as string,
    service: row.service as string,
    // Anomalies stored before endpoints were recorded are about their service.
    endpoint: (row.endpoint as string) || (row.service as string),
    detail: row.detail as string,
    timeMs: Number(row.time_ms),
  };
}

/** The summary a `flows` row keeps as JSON (a record from before the ledger gets an unknown one). */
export function summaryFromRow(row: Record<string, unknown>): FlowSummary {
  return withLedger(JSON.parse(row.summary as string) as FlowSummary);
}
