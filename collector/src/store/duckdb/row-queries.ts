/**
 * SQL of the DuckDB store's span reads and span retention (pure: arguments in, `{ sql, params }`
 * out). Every value is a bound parameter; the only thing spliced into the text is a column name
 * from a fixed set.
 */
import { msToNs } from '../../model/span.js';
import type { TimeWindow } from '../span-store.js';
import { rowLimit } from '../store-inputs.js';
import type { Params, Statement } from './duckdb-client.js';
import { ATTR_BUSINESS_KEY } from '@onceflow/instrumentation/semconv';
import { SPAN_SELECT } from './schema.js';
import { attribute } from './span-roles-sql.js';
import { attributeValueNeedles } from './span-rows.js';

export type SpanKeyColumn = 'conversation_id' | 'message_id' | 'trace_id';

/** The spans whose `column` equals `value`, in read order (start, trace id, span id). */
export function spansWhereSql(column: SpanKeyColumn, value: string, limit: number): Statement {
  // DuckDB answers a selective equality filter on an indexed column with an ART index scan
  // (chosen at run time; EXPLAIN ANALYZE shows "Index Scan"), so this reads only the matches.
  return {
    sql: `SELECT ${SPAN_SELECT} FROM spans WHERE ${column} = $1 ORDER BY start_ns, trace_id, span_id LIMIT $2`,
    params: [value, rowLimit(limit)],
  };
}

/**
 * The same spans in no particular order: without ORDER BY DuckDB reads a conversation in ~4 ms
 * instead of ~5.5 ms at 1M spans. Fewer than `limit` rows are all the spans, which the store
 * sorts; a full answer may not be the first ones, and the store reads `spansWhereSql` instead.
 */
export function spansWhereUnorderedSql(column: SpanKeyColumn, value: string, limit: number): Statement {
  return { sql: `SELECT ${SPAN_SELECT} FROM spans WHERE ${column} = $1 LIMIT $2`, params: [value, rowLimit(limit)] };
}

/** Rolled-up spans listing a message id among their outgoing ids (the `outgoing_ids` index). */
export function listedInIndexSql(messageId: string, limit: number): Statement {
  return {
    sql: 'SELECT DISTINCT conversation_id, trace_id, span_id FROM outgoing_ids WHERE outgoing_id = $1 LIMIT $2',
    params: [messageId, rowLimit(limit)],
  };
}

/** Spans stored since the rollup's watermark that list a message id among their outgoing ids. */
export function listedSinceRollupSql(watermark: bigint, messageId: string, limit: number): Statement {
  return {
    sql: `SELECT ${SPAN_SELECT} FROM spans
         WHERE ingest_seq > $1 AND outgoing_message_ids <> '[]' AND contains(outgoing_message_ids, $2)
           AND list_contains(from_json(outgoing_message_ids, '["VARCHAR"]'), $3)
         LIMIT $4`,
    params: [watermark, JSON.stringify(messageId), messageId, rowLimit(limit)],
  };
}

/** Spans of one flow (by conversation, else by trace) among the given span ids. */
export function flowSpansByIdSql(column: 'conversation_id' | 'trace_id', value: string, spanIds: readonly string[]): Statement {
  // Materialized first: with the span id filter beside it, DuckDB scans the whole table
  // instead of using the conversation index (40 ms against 4 ms at 10M spans).
  return {
    sql: `WITH flow AS MATERIALIZED (SELECT ${SPAN_SELECT} FROM spans WHERE ${column} = $1)
           SELECT * FROM flow WHERE span_id IN (${spanIds.map((_, i) => `$${i + 2}`).join(', ')})`,
    params: [value, ...spanIds],
  };
}

/**
 * What `findConversations` matches, given the placeholders of q and of its attribute needles
 * (`attributeValueNeedles`): an id column equal to q, or a span attribute whose value is q.
 */
export function searchMatch(q: string, [value, valueThenComma, valueThenBrace]: readonly string[]): string {
  return `(conversation_id = ${q} OR message_id = ${q} OR idempotency_key = ${q} OR trace_id = ${q}
    OR causation_id = ${q}
    OR (contains(attributes, ${value}) AND (contains(attributes, ${valueThenComma}) OR contains(attributes, ${valueThenBrace}))))`;
}

export function findConversationsSql(q: string, limit: number): Statement {
  return {
    sql: `SELECT conversation_id, max(start_ns) AS last_ns FROM spans
       WHERE conversation_id <> '' AND ${searchMatch('$1', ['$2', '$3', '$4'])}
       GROUP BY conversation_id
       ORDER BY last_ns DESC, conversation_id
       LIMIT $5`,
    params: [q, ...attributeValueNeedles(q), rowLimit(limit)],
  };
}

export function activeConversationsSql(window: TimeWindow, limit: number): Statement {
  return {
    sql: `SELECT conversation_id, max(start_ns) AS last_ns FROM spans
       WHERE start_ns >= $1 AND start_ns < $2 AND conversation_id <> ''
       GROUP BY conversation_id
       ORDER BY last_ns DESC, conversation_id
       LIMIT $3`,
    params: [msToNs(window.fromMs), msToNs(window.toMs), rowLimit(limit)],
  };
}

export const spanCountSql = (): Statement => ({ sql: 'SELECT count(*) AS n FROM spans', params: [] });

export function deleteSpansBeforeSql(cutoffMs: number): Statement {
  return { sql: 'DELETE FROM spans WHERE start_ns < $1', params: [msToNs(cutoffMs)] };
}

/**
 * Narrows a scan to spans with one of these values somewhere in their attributes (the needles of
 * `attributeValueNeedles`, placeholders from `$first`); the exact attribute is checked after it.
 */
function anyValueNeedles(values: readonly string[], first: number): { sql: string; params: string[] } {
  const params = values.flatMap(attributeValueNeedles);
  const conditions = values.map((_, i) => {
    const [value, valueThenComma, valueThenBrace] = [0, 1, 2].map((n) => `$${first + 3 * i + n}`);
    return `(contains(attributes, ${value}) AND (contains(attributes, ${valueThenComma}) OR contains(attributes, ${valueThenBrace})))`;
  });
  return { sql: `(${conditions.join(' OR ')})`, params };
}

const placeholders = (count: number, first: number) => Array.from({ length: count }, (_, i) => `$${first + i}`).join(', ');

/**
 * The (business key, conversation) pairs of these keys, repeats included: the rolled-up ones from
 * the `business_keys` index, at most `perKey` rows per key, and, unless `afterSeq` is null
 * (nothing stored since the rollup's watermark), those of the spans stored since (a scan of just
 * those). One SELECT per key on the index: with one equality it is an index scan, with an IN
 * list (or a second condition) DuckDB scans the table. UNION ALL and no DISTINCT: at 1M spans
 * they took ~0.8 ms where UNION with DISTINCT took ~1.6 ms, and the recent spans' scan ~0.5 ms.
 */
export function businessKeyConversationsSql(businessKeys: readonly string[], afterSeq: bigint | null, perKey: number): Statement {
  const indexed = businessKeys.map(
    (_, i) => `(SELECT business_key, conversation_id FROM business_keys WHERE business_key = $${2 + i} LIMIT $1)`,
  );
  const params: Params = [rowLimit(perKey), ...businessKeys];
  if (afterSeq === null) return { sql: indexed.join('\nUNION ALL '), params };
  const needles = anyValueNeedles(businessKeys, 3 + businessKeys.length);
  const recent = `(SELECT business_key, conversation_id FROM (
       SELECT ${attribute(ATTR_BUSINESS_KEY)} AS business_key, conversation_id FROM spans
       WHERE ingest_seq > $${2 + businessKeys.length} AND ${needles.sql}
     ) WHERE business_key IN (${placeholders(businessKeys.length, 2)}))`;
  return { sql: [...indexed, recent].join('\nUNION ALL '), params: [...params, afterSeq, ...needles.params] };
}

/**
 * The spans of one conversation carrying one of these business keys, at most `limit` per key
 * (in read order). The conversation is materialized first: a filter beside the conversation id
 * can make DuckDB scan the whole table instead of using the conversation index.
 */
export function conversationBusinessKeySpansSql(conversationId: string, businessKeys: readonly string[], limit: number): Statement {
  const needles = anyValueNeedles(businessKeys, 3 + businessKeys.length);
  return {
    sql: `WITH flow AS MATERIALIZED (SELECT ${SPAN_SELECT} FROM spans WHERE conversation_id = $1)
       SELECT * EXCLUDE (business_key) FROM (
         SELECT *, ${attribute(ATTR_BUSINESS_KEY)} AS business_key FROM flow WHERE ${needles.sql}
       ) WHERE business_key IN (${placeholders(businessKeys.length, 3)})
       QUALIFY row_number() OVER (PARTITION BY business_key ORDER BY start_ns, trace_id, span_id) <= $2`,
    params: [conversationId, rowLimit(limit), ...businessKeys, ...needles.params],
  };
}
