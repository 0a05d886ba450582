/**
 * SQL text for the aggregates (trends, storms, topology), pure. Spans are classified in SQL
 * by the roles of `model/span-roles.ts` (`span-roles-sql.ts`) and bucketed on
 * `start_ns`. They read `spans` without FINAL: the store drops re-sent spans before inserting
 * (`insert-path.ts`), and FINAL would double the cost of every trend. Queue latency uses
 * `first_send_ns`, filled at insert, instead of a join. Quantiles of the span reads interpolate
 * linearly between the two nearest values of the exact sorted sample (DuckDB's
 * `quantile_cont`); reads over long windows use the per-minute rollup and t-digest.
 */
import type { ActivityKey, TimeWindow } from '../span-store.js';
import { msToNs } from '../../model/span.js';
import type { SpanStormKind, TrendGrouping } from '../../model/flow.js';
import { TREND_ANOMALY_COLUMNS, VERDICT_COLUMNS } from '../aggregate-rows.js';
import { ROW_LIMITS, rowLimit } from '../store-inputs.js';
import { isLatestVersion } from './flow-queries.js';
import { windowCondition } from './row-queries.js';
import { QUANTILE_LEVELS, rollupSelect } from './rollup-sql.js';
import { EDGE_KIND, HTTP_PEER, IS_ATTEMPT, IS_SEND } from './span-roles-sql.js';
import { SqlFragment, sql } from './sql-escape.js';

/**
 * The SQL of each trend grouping over span columns; `endpoint` needs to tell attempts apart: an
 * attempt's endpoint is its service and the destination it consumed from (the service alone
 * without one), a send's its service.
 */
function groupExpression(by: TrendGrouping, consumed: string): SqlFragment {
  switch (by) {
    case 'service':
      return sql`service`;
    case 'messageType':
      return sql`message_type`;
    case 'destination':
      return sql`destination`;
    case 'endpoint':
      return new SqlFragment(`if(${consumed} AND destination != '', concat(service, '/', destination), service)`);
    default:
      throw new TypeError(`unknown grouping: ${String(by)}`);
  }
}

/** A processed attempt with a message id: what duplicate processing is counted over. */
const PROCESSED_WITH_ID = "outcome = 'processed' AND message_id != ''";

/**
 * Duplicate processings of a group of spans (a bucket or an edge) whose earliest possible start
 * is `startNs`: the repeats of an (service, destination, message id) inside the group
 * (count − distinct), plus each key's first processing in the group when the insert path found
 * an earlier one (`prev_processed_ns`) before the group's start, however long before.
 */
function duplicateProcessings(attempt: string, startNs: SqlFragment): SqlFragment {
  const processed = `${attempt} AND ${PROCESSED_WITH_ID}`;
  return sql`(countIf(${new SqlFragment(processed)}) - uniqExactIf(service, destination, message_id, ${new SqlFragment(processed)})
    + countIf(${new SqlFragment(processed)} AND prev_processed_ns > 0 AND prev_processed_ns < ${startNs}))`;
}

/** Validates a bucket width: a whole number of milliseconds, at least one second. */
export function bucketStep(stepMs: number): { stepMs: number; stepNs: bigint } {
  if (!Number.isInteger(stepMs) || stepMs < 1000) throw new TypeError(`invalid step: ${stepMs}`);
  return { stepMs, stepNs: BigInt(stepMs) * 1_000_000n };
}

function bucketExpr(stepMs: number): SqlFragment {
  const step = bucketStep(stepMs);
  return sql`intDiv(start_ns, ${step.stepNs}) * ${step.stepMs}`;
}

/**
 * Three interpolated quantiles (p50, p95, p99) of a sorted array alias, each NULL when empty:
 * value at position (n − 1)·q, linearly interpolated between its neighbours.
 */
export function quantileColumns(sorted: string, prefix: string): string {
  return [
    ['p50', 0.5],
    ['p95', 0.95],
    ['p99', 0.99],
  ]
    .map(([name, q]) => {
      const pos = `((length(${sorted}) - 1) * ${q})`;
      const lo = `${sorted}[toUInt64(floor(${pos})) + 1]`;
      const hi = `${sorted}[toUInt64(ceil(${pos})) + 1]`;
      return `if(empty(${sorted}), NULL, ${lo} + (${hi} - ${lo}) * (${pos} - floor(${pos}))) AS ${prefix}_${name}`;
    })
    .join(',\n  ');
}

/** How far before the window the attempt that committed an outbox message is looked for. */
const OUTBOX_LOOKBACK_MS = 3_600_000;

/**
 * Outbox dispatch latency per (time_ms, grp) (`outbox_p50`, `outbox_p99`): start of each send
 * marked as an outbox dispatch minus the commit time of the attempt that listed its message id
 * as outgoing, bucketed and grouped by the send. The window's dispatches come from
 * `outbox_dispatches` (the sends so marked, by time) and `outgoing_index` keeps the commit time
 * with each outgoing id, read by primary key for the window's dispatched ids only (reading the
 * window's sends' attributes from `spans` took ~0.2 s of CPU per million spans, over 24 h every
 * span; the window's range of `outgoing_index` 0.36 s at 10M; before `committed_ms`, a third
 * scan of every span's attributes found the commits: 0.45 s of 0.75 s for 24 h at 1M).
 */
function outboxLatencySql(db: SqlFragment, window: TimeWindow, bucket: SqlFragment, by: TrendGrouping): SqlFragment {
  const group = groupExpression(by, '0');
  const withLookback = windowCondition({ fromMs: window.fromMs - OUTBOX_LOOKBACK_MS, toMs: window.toMs });
  return sql`SELECT time_ms, grp, arraySort(groupArray(ms)) AS outbox_sorted,
  ${new SqlFragment(quantileColumns('outbox_sorted', 'outbox'))}
FROM (
  SELECT time_ms, arrayJoin(if(g = '', [''], [g, ''])) AS grp, (toInt64(start_ns) - commit_ms * 1000000) / 1000000 AS ms
  FROM (
    SELECT ${bucket} AS time_ms, start_ns, message_id AS outgoing_id, ${group} AS g FROM ${db}.outbox_dispatches WHERE ${windowCondition(window)}
  ) ANY INNER JOIN (
    SELECT outgoing_id, max(committed_ms) AS commit_ms FROM ${db}.outgoing_index
    WHERE outgoing_id IN (SELECT message_id FROM ${db}.outbox_dispatches WHERE ${windowCondition(window)})
      AND ${withLookback} AND committed_ms > 0
    GROUP BY outgoing_id
  ) USING (outgoing_id)
)
GROUP BY time_ms, grp`;
}

/** Joins the outbox latency onto bucket rows (`time_ms`, `grp`); buckets without dispatches get NULL. */
function withOutboxLatency(buckets: SqlFragment, outbox: SqlFragment): SqlFragment {
  return sql`SELECT * FROM (${buckets}) ANY LEFT JOIN (SELECT time_ms, grp, outbox_p50, outbox_p99 FROM (${outbox})) USING (time_ms, grp)
ORDER BY time_ms, grp`;
}

export function spanBucketsSql(db: SqlFragment, window: TimeWindow, stepMs: number, by: TrendGrouping): SqlFragment {
  const groupColumn = groupExpression(by, IS_ATTEMPT.toString());
  const bucketStartNs = sql`greatest(toUInt64(time_ms) * 1000000, ${msToNs(Math.max(0, window.fromMs))})`;
  const buckets = sql`SELECT
  time_ms,
  g AS grp,
  countIf(is_send) AS sent,
  countIf(is_attempt AND outcome = 'processed') AS processed,
  countIf(is_attempt AND outcome = 'duplicate') AS duplicate_deliveries,
  ${duplicateProcessings('is_attempt', bucketStartNs)} AS duplicate_processings,
  countIf(is_attempt AND ${IS_RETRY}) AS retries,
  countIf(is_attempt AND outcome IN ('failed', 'retry_scheduled')) AS failures,
  countIf(is_attempt AND outcome = 'dead_lettered') AS dead_letters,
  countIf(is_send AND payload_offloaded = 1) AS offloads,
  sumIf(payload_bytes, is_send AND payload_offloaded = 1) AS offloaded_bytes,
  arraySort(groupArrayIf(duration_ns / 1000000, is_attempt)) AS processing_sorted,
  arraySort(groupArrayIf((toInt64(start_ns) - toInt64(first_send_ns)) / 1000000, is_attempt AND first_send_ns > 0)) AS queue_sorted,
  ${new SqlFragment(quantileColumns('processing_sorted', 'processing'))},
  ${new SqlFragment(quantileColumns('queue_sorted', 'queue'))}
FROM (
  -- Only sends and attempts make a (bucket, group) row; a group value of '' counts in the totals only.
  SELECT ${bucketExpr(stepMs)} AS time_ms, start_ns, duration_ns, service, destination, message_id, outcome,
    payload_offloaded, payload_bytes, first_send_ns, prev_processed_ns, ${IS_SEND} AS is_send, ${IS_ATTEMPT} AS is_attempt,
    arrayJoin(if(${groupColumn} = '', [''], [${groupColumn}, ''])) AS g
  FROM ${db}.spans
  WHERE ${windowCondition(window)} AND (${IS_SEND} OR ${IS_ATTEMPT})
)
GROUP BY time_ms, g`;
  return withOutboxLatency(buckets, outboxLatencySql(db, window, bucketExpr(stepMs), by));
}

/**
 * From the latest flow records: completion per bucket of flow start (completed flows, their
 * duration quantiles, incomplete flows) from `flows FINAL`, and the anomalies of the trend kinds
 * per bucket of anomaly time from the window's range of `anomalies_by_time` (rows of superseded
 * versions dropped, `isLatestVersion`), as two halves of one UNION summed per bucket. The
 * anomaly half read `flows FINAL` too: every record merged twice per trend.
 */
export function flowBucketsSql(db: SqlFragment, window: TimeWindow, stepMs: number): SqlFragment {
  const { stepMs: step } = bucketStep(stepMs);
  const bucket = (column: string) => new SqlFragment(`toUInt64(intDiv(toUInt64(${column}), ${step}) * ${step})`);
  const noAnomalies = new SqlFragment(TREND_ANOMALY_COLUMNS.map(([, column]) => `toUInt64(0) AS ${column}`).join(', '));
  const anomalyCounts = new SqlFragment(
    TREND_ANOMALY_COLUMNS.map(([kind, column]) => `countIf(a_kind = '${kind}') AS ${column}`).join(', '),
  );
  const anomalySums = new SqlFragment(TREND_ANOMALY_COLUMNS.map(([, column]) => `sum(${column}) AS ${column}`).join(', '));
  const kinds = new SqlFragment(TREND_ANOMALY_COLUMNS.map(([kind]) => `'${kind}'`).join(', '));
  const anomalous = sql`kind IN (${kinds}) AND time_ms >= ${window.fromMs} AND time_ms < ${window.toMs}`;
  return sql`SELECT
  time_ms,
  sum(completed) AS flows_completed,
  arraySort(groupArrayArray(durations)) AS completion_sorted,
  ${new SqlFragment(quantileColumns('completion_sorted', 'completion'))},
  sum(incomplete) AS incomplete_flows,
  ${new SqlFragment(VERDICT_COLUMNS.map(([, column]) => `sum(${column}) AS ${column}`).join(', '))},
  ${anomalySums}
FROM (
  SELECT ${bucket('start_ms')} AS time_ms, countIf(state = 'complete') AS completed,
    groupArrayIf(duration_ms, state = 'complete') AS durations, countIf(state = 'incomplete') AS incomplete,
    ${new SqlFragment(VERDICT_COLUMNS.map(([verdict, column]) => `countIf(verdict = '${verdict}') AS ${column}`).join(', '))}, ${noAnomalies}
  FROM ${db}.flows FINAL
  WHERE start_ms >= ${window.fromMs} AND start_ms < ${window.toMs}
  GROUP BY time_ms
  UNION ALL
  SELECT ${bucket('a_time_ms')} AS time_ms, toUInt64(0) AS completed, emptyArrayFloat64() AS durations,
    toUInt64(0) AS incomplete, ${new SqlFragment(VERDICT_COLUMNS.map(([, column]) => `toUInt64(0) AS ${column}`).join(', '))}, ${anomalyCounts}
  FROM (SELECT kind AS a_kind, time_ms AS a_time_ms FROM ${db}.anomalies_by_time FINAL
    WHERE ${anomalous} AND ${isLatestVersion(db, sql`${db}.anomalies_by_time WHERE ${anomalous}`)})
  GROUP BY time_ms
)
GROUP BY time_ms
ORDER BY time_ms`;
}

/** An attempt that failed and will be tried again (storm kind `retry`). */
const IS_RETRY = sql`outcome IN ('failed', 'retry_scheduled')`;
/** An attempt in error with no outcome saying why (storm kind `failure`). */
const IS_FAILURE = sql`(status_code = 'error' AND outcome NOT IN ('failed', 'retry_scheduled', 'dead_lettered'))`;

/** Per (bucket, endpoint = service + destination, message type): one count per storm kind. */
export function activityBucketsSql(db: SqlFragment, window: TimeWindow, stepMs: number): SqlFragment {
  return sql`SELECT
  ${bucketExpr(stepMs)} AS time_ms,
  service,
  destination,
  message_type,
  count() AS attempts,
  countIf(outcome = 'duplicate') AS duplicate_deliveries,
  countIf(outcome = 'processed') - uniqExactIf(message_id, outcome = 'processed') AS duplicate_processings,
  countIf(${IS_RETRY}) AS retries,
  countIf(${IS_FAILURE}) AS failures,
  countIf(outcome = 'dead_lettered') AS dead_letters
FROM ${db}.spans
WHERE ${windowCondition(window)} AND ${IS_ATTEMPT}
GROUP BY time_ms, service, destination, message_type
ORDER BY time_ms, service, destination, message_type`;
}

/** Per storm kind, what one message id contributes to it (the top keys of an episode). */
const TOP_KEY_MEASURES: Record<SpanStormKind, SqlFragment> = {
  'duplicate-delivery': sql`countIf(outcome = 'duplicate')`,
  'duplicate-processing': sql`greatest(countIf(outcome = 'processed'), 1) - 1`,
  retry: sql`countIf(${IS_RETRY})`,
  failure: sql`countIf(${IS_FAILURE})`,
  'dead-letter': sql`countIf(outcome = 'dead_lettered')`,
};

/** Message ids with the most events of one storm kind for one (endpoint, message type). */
export function topKeysSql(db: SqlFragment, window: TimeWindow, key: ActivityKey, kind: SpanStormKind, limit: number): SqlFragment {
  const counted = Object.hasOwn(TOP_KEY_MEASURES, kind) ? TOP_KEY_MEASURES[kind] : undefined;
  if (!counted) throw new TypeError(`unknown key kind: ${String(kind)}`);
  return sql`SELECT message_id, ${counted} AS n
FROM ${db}.spans
WHERE ${windowCondition(window)} AND ${IS_ATTEMPT} AND service = ${key.service} AND destination = ${key.destination}
  AND message_type = ${key.messageType} AND message_id != ''
GROUP BY message_id
HAVING n > 0
ORDER BY n DESC, message_id
LIMIT ${rowLimit(limit, ROW_LIMITS.keys)}`;
}

/** Send, consume and HTTP edges in one scan of the window (no joins). */
export function edgeAggregatesSql(db: SqlFragment, window: TimeWindow): SqlFragment {
  return sql`SELECT
  edge_kind,
  source,
  target,
  arraySort(groupUniqArrayIf(message_type, message_type != '')) AS message_types,
  count() AS n,
  countIf(status_code = 'error' OR outcome IN ('failed', 'retry_scheduled', 'dead_lettered')) AS errors,
  countIf(outcome = 'duplicate') AS duplicates,
  ${duplicateProcessings("edge_kind = 'consume'", sql`${msToNs(Math.max(0, window.fromMs))}`)} AS duplicate_processings,
  countIf(edge_kind = 'consume' AND ${IS_RETRY}) AS retries,
  arraySort(groupArray(duration_ns / 1000000)) AS latency_sorted,
  ${new SqlFragment(quantileColumns('latency_sorted', 'latency'))}
FROM (
  SELECT
    ${EDGE_KIND} AS edge_kind,
    multiIf(edge_kind = 'consume', destination, service) AS source,
    multiIf(edge_kind = 'send', destination, edge_kind = 'consume', service, ${HTTP_PEER}) AS target,
    service, destination, message_type, status_code, outcome, message_id, prev_processed_ns, duration_ns
  FROM ${db}.spans
  WHERE ${windowCondition(window)}
)
WHERE edge_kind != '' AND source != '' AND target != ''
GROUP BY edge_kind, source, target
ORDER BY edge_kind, source, target`;
}

// ---- rollup reads ------------------------------------------------------------------------

const ROLLUP_COLUMN_LIST =
  'minute, edge_kind, service, message_type, destination, peer, st_n, st_processed, st_duplicates, st_retries, ' +
  'st_failures, st_dead_letters, st_offloads, st_offloaded_bytes, st_errors, st_queued, st_prev_processed, ' +
  'st_durations, st_queue';

/**
 * Rollup rows of the window: whole minutes from `span_rollup`, the partial minutes at either
 * end aggregated from `spans` with the same SELECT, so counts stay exact for any window.
 */
export function rollupSource(db: SqlFragment, window: TimeWindow): SqlFragment {
  const firstFull = Math.ceil(window.fromMs / 60_000) * 60_000;
  const endFull = Math.max(firstFull, Math.floor(window.toMs / 60_000) * 60_000);
  const edges = sql`(${windowCondition({ fromMs: window.fromMs, toMs: Math.min(firstFull, window.toMs) })})
    OR (${windowCondition({ fromMs: endFull, toMs: window.toMs })})`;
  return sql`(
SELECT ${new SqlFragment(ROLLUP_COLUMN_LIST)} FROM ${db}.span_rollup
WHERE minute >= toDateTime(${firstFull / 1000}) AND minute < toDateTime(${endFull / 1000})
UNION ALL
${rollupSelect(sql`${db}.spans`, edges)}
)`;
}

function rollupBucket(stepMs: number): SqlFragment {
  const { stepMs: step } = bucketStep(stepMs);
  if (step % 60_000 !== 0) throw new TypeError(`rollup step must be whole minutes: ${step}`);
  return sql`toUInt64(intDiv(toUInt32(minute), ${step / 1000}) * ${step})`;
}

const levels = new SqlFragment(QUANTILE_LEVELS);

/** `spanBucketsSql` from the rollup: same rows, t-digest quantiles. */
export function spanBucketsRollupSql(db: SqlFragment, window: TimeWindow, stepMs: number, by: TrendGrouping): SqlFragment {
  const groupColumn = groupExpression(by, "edge_kind = 'consume'");
  const buckets = sql`SELECT
  ${rollupBucket(stepMs)} AS time_ms,
  arrayJoin(if(${groupColumn} = '', [''], [${groupColumn}, ''])) AS grp,
  countMergeIf(st_n, edge_kind = 'send') AS sent,
  sumMergeIf(st_processed, edge_kind = 'consume') AS processed,
  sumMergeIf(st_duplicates, edge_kind = 'consume') AS duplicate_deliveries,
  -- Every processed attempt with an earlier processing of its key, however far back.
  length(groupArrayIfMergeIf(st_prev_processed, edge_kind = 'consume')) AS duplicate_processings,
  sumMergeIf(st_failures, edge_kind = 'consume') AS retries,
  sumMergeIf(st_failures, edge_kind = 'consume') AS failures,
  sumMergeIf(st_dead_letters, edge_kind = 'consume') AS dead_letters,
  sumMergeIf(st_offloads, edge_kind = 'send') AS offloads,
  sumMergeIf(st_offloaded_bytes, edge_kind = 'send') AS offloaded_bytes,
  countMergeIf(st_n, edge_kind = 'consume') AS attempts,
  sumMergeIf(st_queued, edge_kind = 'consume') AS queued_attempts,
  quantilesTDigestMergeIf(${levels})(st_durations, edge_kind = 'consume') AS processing_q,
  quantilesTDigestIfMergeIf(${levels})(st_queue, edge_kind = 'consume') AS queue_q,
  if(attempts = 0, NULL, processing_q[1]) AS processing_p50,
  if(attempts = 0, NULL, processing_q[2]) AS processing_p95,
  if(attempts = 0, NULL, processing_q[3]) AS processing_p99,
  if(queued_attempts = 0, NULL, queue_q[1]) AS queue_p50,
  if(queued_attempts = 0, NULL, queue_q[2]) AS queue_p95,
  if(queued_attempts = 0, NULL, queue_q[3]) AS queue_p99
FROM ${rollupSource(db, window)}
WHERE edge_kind IN ('send', 'consume')
GROUP BY time_ms, grp`;
  return withOutboxLatency(buckets, outboxLatencySql(db, window, bucketExpr(stepMs), by));
}

/** `activityBucketsSql` from the rollup. */
export function activityBucketsRollupSql(db: SqlFragment, window: TimeWindow, stepMs: number): SqlFragment {
  return sql`SELECT
  ${rollupBucket(stepMs)} AS time_ms,
  service,
  destination,
  message_type,
  countMerge(st_n) AS attempts,
  sumMerge(st_duplicates) AS duplicate_deliveries,
  arrayCount(p -> p >= greatest(toUInt64(time_ms) * 1000000, ${msToNs(Math.max(0, window.fromMs))}), groupArrayIfMerge(st_prev_processed)) AS duplicate_processings,
  sumMerge(st_failures) AS retries,
  -- st_errors counts error status or a failed, retry or dead-letter outcome: without the last
  -- two it is the attempts in error with no outcome saying why.
  sumMerge(st_errors) - sumMerge(st_failures) - sumMerge(st_dead_letters) AS failures,
  sumMerge(st_dead_letters) AS dead_letters
FROM ${rollupSource(db, window)}
WHERE edge_kind = 'consume'
GROUP BY time_ms, service, destination, message_type
ORDER BY time_ms, service, destination, message_type`;
}

/** `edgeAggregatesSql` from the rollup: same edges, t-digest latencies. */
export function edgeAggregatesRollupSql(db: SqlFragment, window: TimeWindow): SqlFragment {
  return sql`SELECT
  edge_kind,
  if(edge_kind = 'consume', destination, service) AS source,
  multiIf(edge_kind = 'send', destination, edge_kind = 'consume', service, peer) AS target,
  arraySort(groupUniqArrayIf(message_type, message_type != '')) AS message_types,
  countMerge(st_n) AS n,
  sumMerge(st_errors) AS errors,
  sumMerge(st_duplicates) AS duplicates,
  length(groupArrayIfMerge(st_prev_processed)) AS duplicate_processings,
  sumMergeIf(st_failures, edge_kind = 'consume') AS retries,
  quantilesTDigestMerge(${levels})(st_durations) AS latency_q,
  latency_q[1] AS latency_p50,
  latency_q[2] AS latency_p95,
  latency_q[3] AS latency_p99
FROM ${rollupSource(db, window)}
WHERE source != '' AND target != ''
GROUP BY edge_kind, source, target
ORDER BY edge_kind, source, target`;
}
