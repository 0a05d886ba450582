/**
 * SQL text for the row reads of the ClickHouse store (pure: text in, text out).
 *
 * Rows deduplicate with `LIMIT 1 BY trace_id, span_id`: cheaper than FINAL for a few thousand
 * rows, exact before background merges have collapsed a batch inserted twice.
 */
import type { TimeWindow } from '../span-store.js';
import { msToNs } from '../../model/span.js';
import { rowLimit } from '../store-inputs.js';
import { TABLES } from './schema.js';
import { SqlFragment, joinSql, sql, sqlIdentifier, sqlInList, type SqlInput } from './sql-escape.js';

const SPAN_KEY_COLUMNS = ['conversation_id', 'message_id', 'trace_id'];
/** Row reads select the encoded span (`span-rows.ts#fromRowJson`) and the columns they order by. */
const SELECT_SPAN = new SqlFragment('row_json, start_ns, trace_id, span_id');

/**
 * `ts` bounds (seconds, for partition and primary-key pruning) plus exact `start_ns` bounds
 * for the half-open window [fromMs, toMs).
 */
export function windowCondition(window: TimeWindow): SqlFragment {
  const fromMs = Math.max(0, window.fromMs);
  const toMs = Math.max(0, window.toMs);
  const fromS = Math.floor(fromMs / 1000);
  const toS = Math.floor(toMs / 1000);
  return sql`ts >= toDateTime(${fromS}) AND ts <= toDateTime(${toS}) AND start_ns >= ${msToNs(fromMs)} AND start_ns < ${msToNs(toMs)}`;
}

function spansWhere(db: SqlFragment, table: (typeof TABLES)[number], column: string, value: SqlInput, limit: number): SqlFragment {
  const from = sql`${db}.${sqlIdentifier(table, TABLES)}`;
  const key = sqlIdentifier(column, SPAN_KEY_COLUMNS);
  return sql`SELECT ${SELECT_SPAN} FROM ${from} WHERE ${key} = ${value}
ORDER BY start_ns, trace_id, span_id
LIMIT 1 BY trace_id, span_id
LIMIT ${rowLimit(limit)}`;
}

export const spansOfConversationSql = (db: SqlFragment, conversationId: string, limit: number) =>
  spansWhere(db, 'spans_by_conversation', 'conversation_id', conversationId, limit);

/**
 * The spans carrying the message id plus the spans listing it among their outgoing ids: two
 * primary-key reads (`spans_by_message`, `outgoing_index`); a span in both comes back once.
 */
export function spansOfMessageSql(db: SqlFragment, messageId: string, limit: number): SqlFragment {
  return sql`SELECT ${SELECT_SPAN} FROM (
  SELECT ${SELECT_SPAN} FROM ${db}.spans_by_message WHERE message_id = ${messageId}
  UNION ALL
  SELECT ${SELECT_SPAN} FROM ${db}.outgoing_index WHERE outgoing_id = ${messageId}
)
ORDER BY start_ns, trace_id, span_id
LIMIT 1 BY trace_id, span_id
LIMIT ${rowLimit(limit)}`;
}

export const spansOfTraceSql = (db: SqlFragment, traceId: string, limit: number) => spansWhere(db, 'spans', 'trace_id', traceId, limit);

export function findConversationsSql(db: SqlFragment, q: string, limit: number): SqlFragment {
  return sql`SELECT conversation_id, max(start_ns) AS last_ns FROM ${db}.search_index
WHERE value = ${q}
GROUP BY conversation_id
ORDER BY last_ns DESC, conversation_id
LIMIT ${rowLimit(limit)}`;
}

export function activeConversationsSql(db: SqlFragment, window: TimeWindow, limit: number): SqlFragment {
  return sql`SELECT conversation_id, max(start_ns) AS last_ns FROM ${db}.spans
WHERE ${windowCondition(window)} AND conversation_id != ''
GROUP BY conversation_id
ORDER BY last_ns DESC, conversation_id
LIMIT ${rowLimit(limit)}`;
}

export const spanCountSql = (db: SqlFragment) => sql`SELECT count() AS n FROM ${db}.spans`;

/**
 * Whether a conversation but `exceptConversationId` has spans carrying one of these values (by
 * `search_index`'s primary key): ~4 ms where `spansOfBusinessKeysSql` takes ~10 ms at 1M spans,
 * and most business keys are in one conversation only.
 */
export function otherConversationOfValuesSql(db: SqlFragment, values: readonly string[], exceptConversationId?: string): SqlFragment {
  const except = exceptConversationId === undefined ? sql`` : sql` AND conversation_id != ${exceptConversationId}`;
  return sql`SELECT 1 AS found FROM ${db}.search_index WHERE value IN ${sqlInList(values)}${except} LIMIT 1`;
}

/**
 * Per business key, one branch each labelled with its key: the spans of the conversations whose
 * spans carry the key (`search_index`) but `exceptConversationId`, narrowed to rows whose encoded
 * span holds the business-key attribute name and the key, at most `limit`. The store keeps those
 * whose attribute equals the branch's key (the encoding keeps attribute keys and values in two
 * arrays). One request for all the keys of a flow.
 */
export function spansOfBusinessKeysSql(
  db: SqlFragment,
  keyName: string,
  businessKeys: readonly string[],
  limit: number,
  exceptConversationId?: string,
): SqlFragment {
  const except = exceptConversationId === undefined ? sql`` : sql` AND conversation_id != ${exceptConversationId}`;
  const branches = businessKeys.map(
    (key) => sql`SELECT ${key} AS business_key, row_json FROM (
SELECT ${SELECT_SPAN} FROM ${db}.spans_by_conversation
WHERE conversation_id IN (SELECT conversation_id FROM ${db}.search_index WHERE value = ${key}${except})
  AND position(row_json, ${JSON.stringify(keyName)}) > 0 AND position(row_json, ${JSON.stringify(key)}) > 0
ORDER BY start_ns, trace_id, span_id
LIMIT 1 BY trace_id, span_id
LIMIT ${rowLimit(limit)})`,
  );
  return joinSql(branches, '\nUNION ALL\n');
}
