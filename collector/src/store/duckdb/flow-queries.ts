/**
 * SQL of the DuckDB store's flow records (pure: arguments in, `{ sql, params }` out): the flows
 * list with its totals, one record, anomalies, the merge of staged records and retention.
 * Every value is a bound parameter.
 */
import { decodeFlowCursor } from '../flow-cursor.js';
import type { AnomalyQuery, FlowQuery } from '../span-store.js';
import { ROW_LIMITS, assertAnomalyKind, assertFlowState, assertVerdict, rowLimit } from '../store-inputs.js';
import type { Params, Statement } from './duckdb-client.js';
import { searchMatch } from './row-queries.js';
import { attributeValueNeedles } from './span-rows.js';

export interface FlowPageStatements {
  /** One page, newest flow first: `limit + 1` rows, so the caller knows whether more follow. */
  page: Statement;
  total: Statement;
  /** Flows per anomaly kind over the whole filtered window. */
  anomalyCounts: Statement;
  limit: number;
}

export function flowPageSql(query: FlowQuery): FlowPageStatements {
  const params: Params = [query.fromMs, query.toMs];
  const where = ['start_ms >= $1', 'start_ms < $2'];
  const bind = (value: Params[number]) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (query.q !== undefined && query.q !== '') {
    // Exact match on the record's own keys, or on anything findConversations matches.
    const q = bind(query.q);
    const needles = attributeValueNeedles(query.q).map(bind);
    where.push(`(conversation_id = ${q} OR list_contains(idempotency_keys, ${q})
        OR list_contains(business_keys, ${q}) OR list_contains(message_types, ${q})
        OR conversation_id IN (SELECT conversation_id FROM spans WHERE ${searchMatch(q, needles)}))`);
  }
  if (query.service !== undefined) where.push(`list_contains(services, ${bind(query.service)})`);
  if (query.messageType !== undefined) where.push(`list_contains(message_types, ${bind(query.messageType)})`);
  if (query.anomaly !== undefined) where.push(`list_contains(anomaly_kinds, ${bind(assertAnomalyKind(query.anomaly))})`);
  if (query.complete !== undefined) where.push(`complete = ${bind(Boolean(query.complete))}`);
  if (query.state !== undefined) where.push(`state = ${bind(assertFlowState(query.state))}`);
  if (query.verdict !== undefined) where.push(`verdict = ${bind(assertVerdict(query.verdict))}`);
  const filtered = `SELECT * FROM flows WHERE ${where.join(' AND ')}`;
  const filterParams = [...params];

  const pageWhere: string[] = [];
  if (query.cursor !== undefined && query.cursor !== '') {
    const after = decodeFlowCursor(query.cursor);
    const start = bind(after.startMs);
    const id = bind(after.conversationId);
    pageWhere.push(`(start_ms < ${start} OR (start_ms = ${start} AND conversation_id < ${id}))`);
  }
  const limit = rowLimit(query.limit, ROW_LIMITS.flows);
  const limitParam = bind(limit + 1);
  return {
    page: {
      sql: `SELECT summary, start_ms, conversation_id FROM (${filtered}) f
      ${pageWhere.length ? `WHERE ${pageWhere.join(' AND ')}` : ''}
      ORDER BY start_ms DESC, conversation_id DESC LIMIT ${limitParam}`,
      params,
    },
    total: { sql: `SELECT count(*) AS n FROM (${filtered}) f`, params: filterParams },
    anomalyCounts: {
      sql: `SELECT kind, count(*) AS n FROM (SELECT unnest(anomaly_kinds) AS kind FROM (${filtered}) f) GROUP BY kind`,
      params: filterParams,
    },
    limit,
  };
}

/** The latest record of a conversation and its anomalies. */
export function flowRecordSql(conversationId: string): { flow: Statement; anomalies: Statement } {
  return {
    flow: {
      sql: 'SELECT summary, analyzed_at_ms FROM flows WHERE conversation_id = $1 ORDER BY analyzed_at_ms DESC LIMIT 1',
      params: [conversationId],
    },
    anomalies: { sql: 'SELECT * FROM anomalies WHERE conversation_id = $1 ORDER BY seq', params: [conversationId] },
  };
}

/** Anomalies whose evidence time falls in the window, newest first. */
export function anomaliesSql(query: AnomalyQuery): Statement {
  const params: Params = [query.fromMs, query.toMs];
  const where = ['time_ms >= $1', 'time_ms < $2'];
  if (query.kind !== undefined) {
    params.push(assertAnomalyKind(query.kind));
    where.push(`kind = $${params.length}`);
  }
  if (query.service !== undefined) {
    params.push(query.service);
    where.push(`service = $${params.length}`);
  }
  params.push(rowLimit(query.limit, ROW_LIMITS.anomalies));
  return {
    sql: `SELECT * FROM anomalies WHERE ${where.join(' AND ')}
       ORDER BY time_ms DESC, conversation_id, kind, message_id, seq LIMIT $${params.length}`,
    params,
  };
}

/**
 * Moves the records appended to `staging_flows`/`staging_anomalies` into the tables, in one
 * transaction. A stored record analysed later than the incoming one wins (ties go to the
 * newcomer).
 */
export const MERGE_STAGED_FLOWS_SQL = [
  `DELETE FROM staging_flows s WHERE EXISTS (
             SELECT 1 FROM flows f WHERE f.conversation_id = s.conversation_id AND f.analyzed_at_ms > s.analyzed_at_ms)`,
  'DELETE FROM flows WHERE conversation_id IN (SELECT conversation_id FROM staging_flows)',
  'DELETE FROM anomalies WHERE conversation_id IN (SELECT conversation_id FROM staging_flows)',
  'INSERT INTO flows SELECT * FROM staging_flows',
  'INSERT INTO anomalies SELECT * FROM staging_anomalies WHERE conversation_id IN (SELECT conversation_id FROM staging_flows)',
  'DELETE FROM staging_flows',
  'DELETE FROM staging_anomalies',
];

/** A flow goes once its last activity is older than the cutoff. */
export function deleteFlowsBeforeSql(cutoffMs: number): Statement[] {
  return [
    {
      sql: 'DELETE FROM anomalies WHERE conversation_id IN (SELECT conversation_id FROM flows WHERE end_ms < $1)',
      params: [cutoffMs],
    },
    { sql: 'DELETE FROM flows WHERE end_ms < $1', params: [cutoffMs] },
  ];
}
