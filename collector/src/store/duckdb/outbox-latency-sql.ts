/**
 * Outbox dispatch latency in the rollup (`rollup.ts`): the job pairs each send marked as an
 * outbox dispatch with the attempt that listed its message id as outgoing and committed, and
 * keeps one row per pair in `outbox_latency`, so trend reads never parse span attributes.
 *
 * A pair is made in the run that stores the later of its two spans (exporters deliver out of
 * order): new commits meet the dispatches stored before, then new dispatches meet every commit.
 * The read keeps the span reads' rule that the listing attempt started at most
 * `SEND_LOOKBACK_MS` before the window.
 */
import type { TrendGrouping } from '../../model/flow.js';
import { msToNs } from '../../model/span.js';
import { ATTR_COMMITTED_AT_MS, ATTR_OUTBOX_DISPATCH } from '@onceflow/instrumentation/semconv';
import { groupExpression, SEND_LOOKBACK_MS } from './aggregate-queries.js';
import { attribute, IS_SEND } from './span-roles-sql.js';

/** Spans of one run: `$1` = after, `$2` = up to (ingest sequence). */
const NEW_SPANS = 'ingest_seq > $1 AND ingest_seq <= $2';

/** A pair's row of `outbox_latency`: the dispatch (`d`), the listing (`o`), the commit (`a`). */
const PAIR_COLUMNS = 'd.start_ns, d.service, d.message_type, d.destination, o.start_ns, (d.start_ns - a.committed_ms * 1000000) / 1e6';

/** Statements of a run, in order; each takes the run's `[after, upTo]` when it has `$1`. */
export const OUTBOX_LATENCY_RUN_SQL = [
  `CREATE OR REPLACE TEMP TABLE outbox_new_dispatches AS
   SELECT start_ns, message_id, service, message_type, destination FROM spans
   WHERE ${NEW_SPANS} AND contains(attributes, '"${ATTR_OUTBOX_DISPATCH}"')
     AND ${IS_SEND} AND message_id <> '' AND ${attribute(ATTR_OUTBOX_DISPATCH)} = 'true'`,
  `CREATE OR REPLACE TEMP TABLE outbox_new_commits AS
   SELECT * FROM (
     SELECT trace_id, span_id, start_ns, TRY_CAST(${attribute(ATTR_COMMITTED_AT_MS)} AS BIGINT) AS committed_ms FROM spans
     WHERE ${NEW_SPANS} AND contains(attributes, '"${ATTR_COMMITTED_AT_MS}"')
   ) WHERE committed_ms IS NOT NULL`,
  // New commits × dispatches of earlier runs (the new ones are not in `outbox_dispatches` yet).
  `INSERT INTO outbox_latency
   SELECT ${PAIR_COLUMNS}
   FROM outbox_new_commits a
   JOIN outgoing_ids o ON o.trace_id = a.trace_id AND o.span_id = a.span_id
   JOIN outbox_dispatches d ON d.message_id = o.outgoing_id`,
  'INSERT INTO outbox_dispatches SELECT * FROM outbox_new_dispatches',
  'INSERT INTO outbox_commits SELECT * FROM outbox_new_commits',
  // New dispatches × every commit, this run's included.
  `INSERT INTO outbox_latency
   SELECT ${PAIR_COLUMNS}
   FROM outbox_new_dispatches d
   JOIN outgoing_ids o ON o.outgoing_id = d.message_id
   JOIN outbox_commits a ON a.trace_id = o.trace_id AND a.span_id = o.span_id`,
  'DROP TABLE outbox_new_dispatches',
  'DROP TABLE outbox_new_commits',
];

export const OUTBOX_LATENCY_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS outbox_dispatches (
    start_ns BIGINT NOT NULL,
    message_id VARCHAR NOT NULL,
    service VARCHAR NOT NULL,
    message_type VARCHAR NOT NULL,
    destination VARCHAR NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS outbox_commits (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    start_ns BIGINT NOT NULL,
    committed_ms BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS outbox_latency (
    start_ns BIGINT NOT NULL,
    service VARCHAR NOT NULL,
    message_type VARCHAR NOT NULL,
    destination VARCHAR NOT NULL,
    listed_ns BIGINT NOT NULL,
    ms DOUBLE NOT NULL
  )`,
];

/** Retention: a pair goes with either of its spans. */
export const OUTBOX_LATENCY_RETENTION_SQL = [
  'DELETE FROM outbox_dispatches WHERE start_ns < $1',
  'DELETE FROM outbox_commits WHERE start_ns < $1',
  'DELETE FROM outbox_latency WHERE start_ns < $1 OR listed_ns < $1',
];

/** `outboxLatencySql` over `outbox_latency`: same rows (time_ms, grp, outbox_q). */
export function outboxLatencyRollupSql(by: TrendGrouping, from: string, to: string, stepNs: string, stepMs: string): string {
  return `
      SELECT time_ms, CASE WHEN grouping(g) = 1 THEN '' ELSE g END AS grp, quantile_cont(ms, [0.5, 0.99]) AS outbox_q FROM (
        SELECT (start_ns // ${stepNs}) * ${stepMs} AS time_ms, ${groupExpression(by, 'false')} AS g, ms FROM outbox_latency
        WHERE start_ns >= ${from} AND start_ns < ${to}
          AND listed_ns >= ${from} - ${msToNs(SEND_LOOKBACK_MS)} AND listed_ns < ${to}
      ) GROUP BY GROUPING SETS ((time_ms, g), (time_ms)) HAVING grouping(g) = 1 OR g <> ''`;
}
