/**
 * SQL text for flow records (pure). Records are read with FINAL so only the latest analysis of
 * each conversation counts; filters go in WHERE, which 18.16 applies after the FINAL merge.
 * A list filtered by anomaly kind reads `flows_by_anomaly` instead, and anomalies
 * `anomalies_by_time`: the window's range, keeping the rows whose version is the conversation's
 * latest (checked against the versions written since, `flow_versions_by_time`), so their cost
 * follows the matching flows and the recent analyses, not every record.
 */
import { decodeFlowCursor } from '../flow-cursor.js';
import type { AnomalyQuery, FlowQuery } from '../span-store.js';
import { ROW_LIMITS, assertAnomalyKind, assertFlowState, assertVerdict, rowLimit } from '../store-inputs.js';
import { FLOW_COLUMNS } from './flow-rows.js';
import { PRESENT_KINDS_SQL } from './schema.js';
import { SqlFragment, joinSql, sql, sqlColumns } from './sql-escape.js';

/** Columns of a FlowSummary (a record without its anomalies). */
export const FLOW_SUMMARY_COLUMNS = FLOW_COLUMNS.filter(
  (column) => !column.startsWith('anomalies.') && column !== 'analyzed_at_ms' && column !== 'version',
);

/** Kinds with a positive count (a record may carry explicit zeros). */
const PRESENT_KINDS = new SqlFragment(PRESENT_KINDS_SQL);

/** WHERE conditions of a flow query, without the cursor. */
export function flowConditions(db: SqlFragment, query: FlowQuery): SqlFragment {
  const conditions: SqlFragment[] = [sql`start_ms >= ${query.fromMs} AND start_ms < ${query.toMs}`];
  if (query.q !== undefined && query.q !== '') {
    const q = query.q;
    conditions.push(sql`(conversation_id = ${q} OR has(idempotency_keys, ${q}) OR has(business_keys, ${q})
  OR has(message_types, ${q})
  OR conversation_id IN (SELECT conversation_id FROM ${db}.search_index WHERE value = ${q}))`);
  }
  if (query.service !== undefined) conditions.push(sql`has(services, ${query.service})`);
  if (query.messageType !== undefined) conditions.push(sql`has(message_types, ${query.messageType})`);
  if (query.anomaly !== undefined) {
    conditions.push(sql`has(${PRESENT_KINDS}, ${assertAnomalyKind(query.anomaly)})`);
  }
  if (query.complete !== undefined) conditions.push(sql`complete = ${query.complete}`);
  if (query.state !== undefined) conditions.push(sql`state = ${assertFlowState(query.state)}`);
  if (query.verdict !== undefined) conditions.push(sql`verdict = ${assertVerdict(query.verdict)}`);
  return joinSql(conditions, '\n  AND ');
}

/**
 * Where a flow query reads: `flows FINAL`, or for a query filtered by kind the rows of that kind
 * in the window whose version is the conversation's latest (one row per conversation: a version
 * saved twice has two identical rows until they merge).
 */
function flowSource(db: SqlFragment, query: FlowQuery, columns: SqlFragment, after: SqlFragment = sql`1`): SqlFragment {
  const conditions = sql`${flowConditions(db, query)}
  AND ${after}`;
  if (query.anomaly === undefined)
    return sql`SELECT ${columns} FROM ${db}.flows FINAL
WHERE ${conditions}`;
  const ofKind = sql`kind = ${assertAnomalyKind(query.anomaly)} AND start_ms >= ${query.fromMs} AND start_ms < ${query.toMs}`;
  return sql`SELECT ${columns} FROM ${db}.flows_by_anomaly
WHERE ${ofKind}
  AND ${isLatestVersion(db, sql`${db}.flows_by_anomaly WHERE ${ofKind}`)}
  AND ${conditions}
LIMIT 1 BY conversation_id`;
}

/** Above every version (UInt64 max): no version is written after it. */
const NO_VERSION = new SqlFragment('18446744073709551615');

/**
 * Whether a row of a flow index table (with `conversation_id` and `version`) holds its
 * conversation's latest version, for the rows `candidates` selects (`<table> WHERE …`): the
 * highest of the candidates' versions and of the versions written after the oldest candidate
 * (`flow_versions_by_time` is ordered by version, so a range at its end: empty when every
 * candidate is the newest version), among the candidates' conversations only (picked by a hash
 * of the id, stored: hashing every id of a day's range cost ~0.15 s of server CPU per 100k; a
 * colliding conversation only adds a group no candidate row matches). Sets and groups are as
 * large as the candidates: meant for the rows of a kind or an anomaly window, not for every
 * record of a day.
 */
export function isLatestVersion(db: SqlFragment, candidates: SqlFragment): SqlFragment {
  return sql`(conversation_id, version) IN (
    SELECT conversation_id, max(version) FROM (
      SELECT conversation_id, version FROM ${candidates}
      UNION ALL
      SELECT conversation_id, version FROM ${db}.flow_versions_by_time
      WHERE version > (SELECT if(count() = 0, ${NO_VERSION}, min(version)) FROM ${candidates})
        AND conversation_hash IN (SELECT cityHash64(conversation_id) FROM ${candidates}))
    GROUP BY conversation_id)`;
}

/** One page, newest flow first; fetches limit + 1 rows so the caller knows whether more follow. */
export function flowPageSql(db: SqlFragment, query: FlowQuery): SqlFragment {
  const limit = rowLimit(query.limit, ROW_LIMITS.flows);
  let after = sql`1`;
  if (query.cursor !== undefined) {
    const cursor = decodeFlowCursor(query.cursor);
    after = sql`(start_ms < ${cursor.startMs} OR (start_ms = ${cursor.startMs} AND conversation_id < ${cursor.conversationId}))`;
  }
  return sql`SELECT * FROM (
${flowSource(db, query, sqlColumns(FLOW_SUMMARY_COLUMNS), after)}
)
ORDER BY start_ms DESC, conversation_id DESC
LIMIT ${limit + 1}`;
}

/** Flows per anomaly kind over the whole filtered window; the row with kind '' is the total. */
export function flowCountsSql(db: SqlFragment, query: FlowQuery): SqlFragment {
  return sql`SELECT kind, count() AS n FROM (
  SELECT arrayJoin(arrayConcat([''], ${PRESENT_KINDS})) AS kind
  FROM (${flowSource(db, query, sql`conversation_id, anomaly_kinds, anomaly_kind_counts`)})
)
GROUP BY kind`;
}

/**
 * Anomalies of the latest flow records whose evidence time falls in the window, newest first:
 * the window's range of `anomalies_by_time` (per kind when one is asked for), rows of superseded
 * versions dropped; FINAL over that range merges a version saved twice.
 */
export function anomaliesSql(db: SqlFragment, query: AnomalyQuery): SqlFragment {
  const inWindow: SqlFragment[] = [sql`time_ms >= ${query.fromMs} AND time_ms < ${query.toMs}`];
  if (query.kind !== undefined) inWindow.push(sql`kind = ${assertAnomalyKind(query.kind)}`);
  const candidates = joinSql(inWindow, ' AND ');
  const conditions = [candidates, isLatestVersion(db, sql`${db}.anomalies_by_time WHERE ${candidates}`)];
  if (query.service !== undefined) conditions.push(sql`service = ${query.service}`);
  return sql`SELECT conversation_id, kind, severity, message_id, message_type, service, detail, time_ms, endpoint
FROM ${db}.anomalies_by_time FINAL
WHERE ${joinSql(conditions, '\n  AND ')}
ORDER BY time_ms DESC, conversation_id, kind, message_id, seq
LIMIT ${rowLimit(query.limit, ROW_LIMITS.anomalies)}`;
}

/**
 * The latest record of one conversation. The highest version is what FINAL would keep; sorting
 * the few rows of one conversation avoids FINAL's merge of every part's granule (3-4× slower
 * for one record).
 */
export function flowRecordSql(db: SqlFragment, conversationId: string): SqlFragment {
  return sql`SELECT ${sqlColumns(FLOW_COLUMNS)} FROM ${db}.flows WHERE conversation_id = ${conversationId}
ORDER BY version DESC LIMIT 1`;
}
