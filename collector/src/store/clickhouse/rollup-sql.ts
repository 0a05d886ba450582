/**
 * The per-minute rollup of the ClickHouse store: its columns and the SELECT that fills them,
 * built on the span roles of `span-roles-sql.ts`. The rollup's materialized view and the raw
 * edge minutes of a rollup read use the same SELECT, so both sides of a merge have identical
 * aggregate-state types.
 *
 * Duplicate processings per bucket are count(processed) − distinct(service, message id), i.e. the
 * processed attempts whose previous processed attempt of the same key falls in the same bucket.
 * The rollup keeps, per minute, the previous-processed start of each such attempt (rare: only
 * repeats have one), so any whole-minute bucket can count them without a set of every key.
 *
 * 18.16: a materialized view whose outer query uses a column aliased in a FROM subquery fails
 * every insert ("Unknown identifier"), so the rollup SELECT is one level deep.
 */
import { SqlFragment, sql } from './sql-escape.js';
import { EDGE_KIND, HTTP_PEER, IS_HTTP_CLIENT } from './span-roles-sql.js';

export const QUANTILE_LEVELS = '0.5, 0.95, 0.99';

/** Columns of `span_rollup` (AggregatingMergeTree, one row per minute and key). */
export const ROLLUP_COLUMNS_DDL = `  minute DateTime('UTC'),
  edge_kind String,
  service String,
  message_type String,
  destination String,
  peer String,
  st_n AggregateFunction(count),
  st_processed AggregateFunction(sum, UInt64),
  st_duplicates AggregateFunction(sum, UInt64),
  st_retries AggregateFunction(sum, UInt64),
  st_failures AggregateFunction(sum, UInt64),
  st_dead_letters AggregateFunction(sum, UInt64),
  st_offloads AggregateFunction(sum, UInt64),
  st_offloaded_bytes AggregateFunction(sum, UInt64),
  st_errors AggregateFunction(sum, UInt64),
  st_queued AggregateFunction(sum, UInt64),
  st_prev_processed AggregateFunction(groupArrayIf, UInt64, UInt8),
  st_durations AggregateFunction(quantilesTDigest(${QUANTILE_LEVELS}), Float64),
  st_queue AggregateFunction(quantilesTDigestIf(${QUANTILE_LEVELS}), Float64, UInt8)`;

/**
 * Per-minute states of sends, attempts and HTTP client spans of `source` matching `where`.
 * Counters are unconditional on the role; readers pick rows by `edge_kind`.
 */
export function rollupSelect(source: SqlFragment, where: SqlFragment): SqlFragment {
  return sql`SELECT
  toStartOfMinute(ts) AS minute, ${EDGE_KIND} AS edge_kind, service, message_type, destination,
  if(${IS_HTTP_CLIENT}, ${HTTP_PEER}, '') AS peer,
  countState() AS st_n,
  sumState(toUInt64(outcome = 'processed')) AS st_processed,
  sumState(toUInt64(outcome = 'duplicate')) AS st_duplicates,
  sumState(toUInt64(attempt > 1)) AS st_retries,
  sumState(toUInt64(outcome IN ('failed', 'retry_scheduled'))) AS st_failures,
  sumState(toUInt64(outcome = 'dead_lettered')) AS st_dead_letters,
  sumState(toUInt64(payload_offloaded = 1)) AS st_offloads,
  sumState(if(payload_offloaded = 1, payload_bytes, toUInt64(0))) AS st_offloaded_bytes,
  sumState(toUInt64(status_code = 'error' OR outcome IN ('failed', 'retry_scheduled', 'dead_lettered'))) AS st_errors,
  sumState(toUInt64(first_send_ns > 0)) AS st_queued,
  groupArrayIfState(prev_processed_ns, outcome = 'processed' AND prev_processed_ns > 0) AS st_prev_processed,
  quantilesTDigestState(${new SqlFragment(QUANTILE_LEVELS)})(duration_ns / 1000000) AS st_durations,
  quantilesTDigestIfState(${new SqlFragment(QUANTILE_LEVELS)})((toInt64(start_ns) - toInt64(first_send_ns)) / 1000000, first_send_ns > 0) AS st_queue
FROM ${source}
WHERE (${where}) AND edge_kind != ''
GROUP BY minute, edge_kind, service, message_type, destination, peer`;
}
