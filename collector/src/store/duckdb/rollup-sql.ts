/**
 * SQL of the rollup (`rollup-schema.ts`): what the job writes, and the trend, storm and topology
 * reads over it. Pure text builders; every value is a bound parameter.
 *
 * A span becomes a rollup entry by its role (as in `aggregate-queries.ts`): `send`, `consume` (an
 * attempt) or `http` (an HTTP client call); other spans are not rolled up. Reads take whole
 * minutes from `span_rollup` and aggregate the partial minutes at either end of a window from
 * `spans` with the same SELECT, so any window is exact. Duplicate processings come from
 * `rollup_repeats` filtered on exact start times.
 */
import type { TrendGrouping } from '../../model/flow.js';
import { msToNs } from '../../model/span.js';
import type { TimeWindow } from '../span-store.js';
import {
  duplicateProcessingsSql,
  edgeRepeatsSql,
  groupExpression,
  OUTBOX_COLUMNS,
  SEND_LOOKBACK_MS,
  quantileColumns,
  stepOf,
  windowNs,
} from './aggregate-queries.js';
import type { Params, Statement } from './duckdb-client.js';
import { OUTBOX_LATENCY_RETENTION_SQL, outboxLatencyRollupSql } from './outbox-latency-sql.js';
import { businessKeysOf } from './rollup-schema.js';
import { HTTP_PEER, IS_ATTEMPT, IS_CLIENT_KIND, IS_HTTP_CLIENT, IS_SEND } from './span-roles-sql.js';

const MINUTE_MS = 60_000;
const MINUTE_NS = 60_000_000_000n;
const LOOKBACK_NS = msToNs(SEND_LOOKBACK_MS);

/** Period of `latency_hist` rows: every default step of a window over an hour is a multiple. */
export const HIST_PERIOD_MS = 300_000;
/**
 * Log-spaced latency buckets with relative error ≤ 1 %: bucket k > 0 holds (m·γ^(k−1), m·γ^k]
 * with m = 1 µs and γ = 1.01 / 0.99, and stands for 2·m·γ^k / (γ + 1); negative latencies
 * (clock skew) mirror it; |v| ≤ 1 µs is bucket 0 (value 0).
 */
const HIST_MIN_MS = 0.001;
const HIST_GAMMA = 1.01 / 0.99;
const HIST_BUCKET = (v: string) =>
  `(CASE WHEN ${v} > ${HIST_MIN_MS} THEN ceil(ln(${v} / ${HIST_MIN_MS}) / ln(${HIST_GAMMA}))
         WHEN ${v} < -${HIST_MIN_MS} THEN -ceil(ln(-${v} / ${HIST_MIN_MS}) / ln(${HIST_GAMMA}))
         ELSE 0 END)::INTEGER`;
const HIST_VALUE = (k: string) => `(sign(${k}) * ${HIST_MIN_MS} * pow(${HIST_GAMMA}, abs(${k})) * 2 / (${HIST_GAMMA} + 1))`;

/** `latency_hist` rows of a relation of entries (`minute_ms`, keys, `duration_ms`, `queue_ms`). */
function histogramEntriesSql(entries: string): string {
  const keys = 'edge_kind, service, message_type, destination, peer';
  const period = `(minute_ms // ${HIST_PERIOD_MS}) * ${HIST_PERIOD_MS}`;
  return `
    SELECT ${period} AS period_ms, ${keys}, 'duration' AS measure, ${HIST_BUCKET('duration_ms')} AS bucket, count(*) AS n
    FROM (${entries}) GROUP BY ALL
    UNION ALL
    SELECT ${period} AS period_ms, ${keys}, 'queue' AS measure, ${HIST_BUCKET('queue_ms')} AS bucket, count(*) AS n
    FROM (${entries}) WHERE queue_ms IS NOT NULL GROUP BY ALL`;
}

/**
 * Rolled-up spans matching `filter` (a condition on `spans`), one row per span with its role,
 * minute, HTTP peer and queue latency (start − earliest send of the same message id among the
 * sends starting in [sendFrom, sendTo)).
 */
function entriesSql(filter: string, sendFrom: string, sendTo: string): string {
  return `
    WITH c AS MATERIALIZED (
      SELECT trace_id, span_id, start_ns, (start_ns // ${MINUTE_NS}) * ${MINUTE_MS} AS minute_ms, edge_kind,
        service, message_type, destination,
        CASE WHEN edge_kind = 'http' THEN ${HTTP_PEER} ELSE '' END AS peer,
        message_id, outcome, attempt, status_code, duration_ns / 1e6 AS duration_ms, payload_offloaded, payload_bytes
      FROM (
        SELECT *, CASE WHEN ${IS_SEND} THEN 'send' WHEN ${IS_ATTEMPT} THEN 'consume'
                       WHEN ${IS_CLIENT_KIND} THEN (CASE WHEN ${IS_HTTP_CLIENT} THEN 'http' ELSE '' END)
                       ELSE '' END AS edge_kind
        FROM spans WHERE ${filter}
      ) WHERE edge_kind <> ''
    ),
    first_send AS (
      SELECT message_id, min(start_ns) AS sent_ns FROM spans
      WHERE start_ns >= ${sendFrom} AND start_ns < ${sendTo} AND ${IS_SEND} AND message_id <> ''
        AND message_id IN (SELECT message_id FROM c WHERE edge_kind = 'consume')
      GROUP BY message_id
    )
    SELECT c.*, CASE WHEN c.edge_kind = 'consume' THEN (c.start_ns - f.sent_ns) / 1e6 END AS queue_ms
    FROM c LEFT JOIN first_send f ON f.message_id = c.message_id`;
}

/** Rollup rows (the columns of `span_rollup`) aggregated from a relation of entries. */
function aggregateEntriesSql(entries: string): string {
  return `
    SELECT minute_ms, edge_kind, service, message_type, destination, peer,
      count(*) AS n,
      count(*) FILTER (WHERE outcome = 'processed') AS processed,
      count(*) FILTER (WHERE outcome = 'duplicate') AS duplicates,
      count(*) FILTER (WHERE attempt > 1) AS retries,
      count(*) FILTER (WHERE outcome IN ('failed', 'retry_scheduled')) AS failures,
      count(*) FILTER (WHERE outcome = 'dead_lettered') AS dead_letters,
      count(*) FILTER (WHERE status_code = 'error' OR outcome IN ('failed', 'retry_scheduled', 'dead_lettered')) AS errors,
      count(*) FILTER (WHERE payload_offloaded) AS offloads,
      coalesce(sum(payload_bytes) FILTER (WHERE payload_offloaded), 0)::BIGINT AS offloaded_bytes,
      list(duration_ms) AS durations,
      coalesce(list(queue_ms) FILTER (WHERE queue_ms IS NOT NULL), []::DOUBLE[]) AS queue
    FROM (${entries})
    GROUP BY minute_ms, edge_kind, service, message_type, destination, peer`;
}

// ---- the job ------------------------------------------------------------------------------

/** Start range of the spans stored by inserts (after, upTo]: $1 = after, $2 = upTo. */
export const NEW_SPANS_RANGE_SQL = `SELECT min(start_ns) AS lo, max(start_ns) AS hi FROM spans WHERE ingest_seq > $1 AND ingest_seq <= $2`;

/**
 * The entries of the new spans into a temporary table `rollup_new`. Sends are looked for from
 * an hour before the earliest new span to an hour after the latest ($3, $4): a zone-map-pruned
 * slice of the table, whatever its size.
 */
export function stageNewEntries(after: bigint, upTo: bigint, lo: bigint, hi: bigint): Statement {
  return {
    sql: `CREATE OR REPLACE TEMP TABLE rollup_new AS ${entriesSql('ingest_seq > $1 AND ingest_seq <= $2', '$3', '$4')}`,
    params: [after, upTo, lo - LOOKBACK_NS, hi + LOOKBACK_NS + 1n],
  };
}

export const INSERT_NEW_ROLLUP_SQL = [
  `INSERT INTO span_rollup ${aggregateEntriesSql('SELECT * FROM rollup_new')}`,
  `INSERT INTO latency_hist ${histogramEntriesSql('SELECT * FROM rollup_new')}`,
];

/**
 * Attempts waiting for their send that a new send answers: their queue latency goes into
 * `span_rollup` as rows without counts, and they stop waiting.
 */
export const RESOLVE_WAITING_SQL = [
  `CREATE OR REPLACE TEMP TABLE rollup_resolved AS
   SELECT w.*, (w.start_ns - s.sent_ns) / 1e6 AS queue_ms FROM rollup_waiting w
   JOIN (SELECT message_id, min(start_ns) AS sent_ns FROM rollup_new WHERE edge_kind = 'send' AND message_id <> ''
         GROUP BY message_id) s ON s.message_id = w.message_id
   WHERE s.sent_ns >= w.start_ns - ${LOOKBACK_NS}`,
  `INSERT INTO span_rollup
   SELECT minute_ms, 'consume', service, message_type, destination, '', 0, 0, 0, 0, 0, 0, 0, 0, 0, []::DOUBLE[], list(queue_ms)
   FROM rollup_resolved GROUP BY minute_ms, service, message_type, destination`,
  `INSERT INTO latency_hist
   SELECT (minute_ms // ${HIST_PERIOD_MS}) * ${HIST_PERIOD_MS}, 'consume', service, message_type, destination, '', 'queue',
     ${HIST_BUCKET('queue_ms')}, count(*)
   FROM rollup_resolved GROUP BY ALL`,
  `DELETE FROM rollup_waiting w USING rollup_resolved r WHERE w.trace_id = r.trace_id AND w.span_id = r.span_id`,
];

export const INSERT_WAITING_SQL = `INSERT INTO rollup_waiting
  SELECT trace_id, span_id, start_ns, minute_ms, service, message_type, destination, message_id FROM rollup_new
  WHERE edge_kind = 'consume' AND message_id <> '' AND queue_ms IS NULL`;

/** Stable across DuckDB versions (unlike `hash`): the hashes are stored. */
const PROCESSED_KEY_HASH = `md5_number_lower(service || chr(31) || message_id)`;

/**
 * Message ids of new processed spans whose (service, message id) was processed before (its
 * hash is in `processed_keys`) or more than once in this run. A hash collision only makes an
 * id a candidate: the repeats table then holds its spans, which count as duplicates only when
 * (service, message id) really repeats.
 */
export const REPEAT_CANDIDATES_SQL = `
  WITH p AS (
    SELECT service, message_id, ${PROCESSED_KEY_HASH} AS key_hash FROM rollup_new
    WHERE outcome = 'processed' AND message_id <> ''
  )
  SELECT DISTINCT message_id FROM (
    -- An inner join, so DuckDB hashes the smaller side (this run's keys) and streams the stored
    -- hashes past it: ~25 ms at 10M spans (4.6M stored), the largest fixed cost of a run.
    SELECT p.message_id FROM p JOIN processed_keys k ON k.key_hash = p.key_hash
    UNION ALL
    SELECT message_id FROM p GROUP BY service, message_id HAVING count(*) > 1
  )`;

export const INSERT_PROCESSED_KEYS_SQL = `INSERT INTO processed_keys
  SELECT ${PROCESSED_KEY_HASH}, max(start_ns) FROM rollup_new WHERE outcome = 'processed' AND message_id <> '' GROUP BY ALL`;

/**
 * Processed spans without a message id count as one key per service (as in the span reads), so
 * they all go to the repeats as they come: looking up message id '' would read every span
 * without one.
 */
export const INSERT_UNIDENTIFIED_REPEATS_SQL = `INSERT INTO rollup_repeats
  SELECT trace_id, span_id, start_ns, edge_kind, service, message_type, destination, peer, message_id FROM rollup_new
  WHERE outcome = 'processed' AND message_id = ''`;

/** Replaces the repeats of some message ids with all their processed spans (an index lookup). */
export function refreshRepeats(messageIds: string[]): Statement[] {
  const list = messageIds.map((_, i) => `$${i + 1}`).join(', ');
  return [
    { sql: `DELETE FROM rollup_repeats WHERE message_id IN (${list})`, params: messageIds },
    {
      sql: `INSERT INTO rollup_repeats
        SELECT trace_id, span_id, start_ns, edge_kind, service, message_type, destination, peer, message_id
        FROM (${entriesSql(`message_id IN (${list}) AND outcome = 'processed'`, '0', '0')})`,
      params: messageIds,
    },
  ];
}

export const INSERT_OUTGOING_IDS_SQL = `INSERT INTO outgoing_ids
  SELECT DISTINCT unnest(from_json(outgoing_message_ids, '["VARCHAR"]')) AS outgoing_id, conversation_id, trace_id, span_id, start_ns
  FROM spans WHERE ingest_seq > $1 AND ingest_seq <= $2 AND outgoing_message_ids <> '[]'`;

export const INSERT_BUSINESS_KEYS_SQL = `INSERT INTO business_keys ${businessKeysOf('ingest_seq > $1 AND ingest_seq <= $2')}`;

/** The 5-minute periods a run added rollup rows to. */
export const TOUCHED_PERIODS_SQL = `
  SELECT DISTINCT (minute_ms // ${HIST_PERIOD_MS}) * ${HIST_PERIOD_MS} AS period_ms FROM rollup_new
  UNION SELECT DISTINCT (minute_ms // ${HIST_PERIOD_MS}) * ${HIST_PERIOD_MS} FROM rollup_resolved`;

/**
 * Merges the rows each run added to some periods into one row per key (frequent runs on live
 * traffic would otherwise leave hundreds of small rows per minute and key).
 */
export function compactPeriods(periods: number[]): Statement[] {
  const list = periods.map((_, i) => `$${i + 1}`).join(', ');
  const inPeriods = (column: string) => `(${column} // ${HIST_PERIOD_MS}) * ${HIST_PERIOD_MS} IN (${list})`;
  const minuteKeys = 'minute_ms, edge_kind, service, message_type, destination, peer';
  const sums = ['n', 'processed', 'duplicates', 'retries', 'failures', 'dead_letters', 'errors', 'offloads', 'offloaded_bytes']
    .map((column) => `sum(${column})::BIGINT`)
    .join(', ');
  const statements = [
    `CREATE OR REPLACE TEMP TABLE rollup_compacted AS
     SELECT ${minuteKeys}, ${sums}, flatten(list(durations)), flatten(list(queue)) FROM span_rollup
     WHERE ${inPeriods('minute_ms')} GROUP BY ${minuteKeys}`,
    `DELETE FROM span_rollup WHERE ${inPeriods('minute_ms')}`,
    'INSERT INTO span_rollup SELECT * FROM rollup_compacted',
    `CREATE OR REPLACE TEMP TABLE rollup_compacted AS
     SELECT period_ms, edge_kind, service, message_type, destination, peer, measure, bucket, sum(n)::BIGINT FROM latency_hist
     WHERE period_ms IN (${list}) GROUP BY ALL`,
    `DELETE FROM latency_hist WHERE period_ms IN (${list})`,
    'INSERT INTO latency_hist SELECT * FROM rollup_compacted',
    'DROP TABLE rollup_compacted',
  ];
  return statements.map((sql) => ({ sql, params: sql.includes('$1') ? periods : [] }));
}

export const DROP_STAGED_SQL = ['DROP TABLE IF EXISTS rollup_new', 'DROP TABLE IF EXISTS rollup_resolved'];

/**
 * Retention: everything derived from spans that started before the cutoff goes; the cutoff's
 * own minute is aggregated again from the spans it keeps. Run after the spans are deleted.
 */
export function retentionStatements(cutoffMs: number, rolledUpSeq: bigint): Statement[] {
  const cutoffNs = msToNs(cutoffMs);
  const minuteMs = Math.floor(cutoffMs / MINUTE_MS) * MINUTE_MS;
  const periodMs = Math.floor(cutoffMs / HIST_PERIOD_MS) * HIST_PERIOD_MS;
  const statements: Statement[] = [
    { sql: 'DELETE FROM span_rollup WHERE minute_ms < $1', params: [minuteMs] },
    { sql: 'DELETE FROM latency_hist WHERE period_ms < $1', params: [periodMs] },
    ...['rollup_repeats', 'rollup_waiting', 'outgoing_ids', 'business_keys', 'processed_keys'].map((table) => ({
      sql: `DELETE FROM ${table} WHERE start_ns < $1`,
      params: [cutoffNs] as Params,
    })),
    ...OUTBOX_LATENCY_RETENTION_SQL.map((sql) => ({ sql, params: [cutoffNs] as Params })),
  ];
  if (minuteMs !== cutoffMs) {
    const [fromNs, toNs] = [cutoffNs, msToNs(minuteMs + MINUTE_MS)];
    statements.push(
      { sql: 'DELETE FROM span_rollup WHERE minute_ms = $1', params: [minuteMs] },
      {
        // Spans the job has not rolled up yet stay for the job.
        sql: `INSERT INTO span_rollup ${aggregateEntriesSql(entriesSql('start_ns >= $1 AND start_ns < $2 AND ingest_seq <= $4', '$3', '$2'))}`,
        params: [fromNs, toNs, fromNs - LOOKBACK_NS, rolledUpSeq],
      },
    );
  }
  if (periodMs !== cutoffMs) {
    const [fromNs, toNs] = [cutoffNs, msToNs(periodMs + HIST_PERIOD_MS)];
    statements.push(
      { sql: 'DELETE FROM latency_hist WHERE period_ms = $1', params: [periodMs] },
      {
        sql: `INSERT INTO latency_hist ${histogramEntriesSql(entriesSql('start_ns >= $1 AND start_ns < $2 AND ingest_seq <= $4', '$3', '$2'))}`,
        params: [fromNs, toNs, fromNs - LOOKBACK_NS, rolledUpSeq],
      },
    );
  }
  return statements;
}

// ---- reads --------------------------------------------------------------------------------

/** Whether a step can be answered from per-minute rows. */
export function rollupCanServe(stepMs: number): boolean {
  return Number.isInteger(stepMs) && stepMs >= MINUTE_MS && stepMs % MINUTE_MS === 0;
}

/**
 * Windows up to an hour (the API's default) get exact quantiles from the samples; longer ones
 * with steps of whole 5-minute periods read `latency_hist` (samples only for the partial
 * periods at either end).
 */
export const EXACT_QUANTILES_MAX_WINDOW_MS = 3_600_000;

function usesHistograms(window: TimeWindow, stepMs: number | null): boolean {
  return window.toMs - window.fromMs > EXACT_QUANTILES_MAX_WINDOW_MS && (stepMs === null || stepMs % HIST_PERIOD_MS === 0);
}

/** Part of a window as SQL: bounds are `$1`/`$2` (the window's) or integers computed here. */
interface Range {
  fromMs: number;
  toMs: number;
  fromNs: string;
  toNs: string;
}

function windowRange(window: TimeWindow): Range {
  return { fromMs: window.fromMs, toMs: window.toMs, fromNs: '$1', toNs: '$2' };
}

/**
 * Rollup rows (the columns of `span_rollup`) of a range: whole minutes from `span_rollup`,
 * partial minutes at either end from `spans` (sends looked for from an hour before the window,
 * as the span reads do). Minute bounds are integers computed here, not input text.
 */
function rollupRowsSql(range: Range): string {
  const firstFull = Math.ceil(range.fromMs / MINUTE_MS) * MINUTE_MS;
  const endFull = Math.floor(range.toMs / MINUTE_MS) * MINUTE_MS;
  const parts: string[] = [];
  const partial: string[] = [];
  if (firstFull >= endFull) {
    partial.push(`(start_ns >= ${range.fromNs} AND start_ns < ${range.toNs})`);
  } else {
    parts.push(`SELECT * FROM span_rollup WHERE minute_ms >= ${firstFull} AND minute_ms < ${endFull}`);
    if (firstFull > range.fromMs) partial.push(`(start_ns >= ${range.fromNs} AND start_ns < ${msToNs(firstFull)})`);
    if (endFull < range.toMs) partial.push(`(start_ns >= ${msToNs(endFull)} AND start_ns < ${range.toNs})`);
  }
  if (partial.length > 0) {
    parts.push(aggregateEntriesSql(entriesSql(`(${partial.join(' OR ')})`, `($1 - ${LOOKBACK_NS})`, '$2')));
  }
  return parts.join(' UNION ALL ');
}

/**
 * Latency histogram entries of a window (`t_ms`, the key columns, `measure`, `bucket`, `n`):
 * whole 5-minute periods from `latency_hist`, the rest bucketed from the samples.
 */
function histogramRowsSql(window: TimeWindow): string {
  const firstFull = Math.ceil(window.fromMs / HIST_PERIOD_MS) * HIST_PERIOD_MS;
  const endFull = Math.floor(window.toMs / HIST_PERIOD_MS) * HIST_PERIOD_MS;
  const keys = 'edge_kind, service, message_type, destination, peer';
  const parts = [
    `SELECT period_ms AS t_ms, ${keys}, measure, bucket, n FROM latency_hist WHERE period_ms >= ${firstFull} AND period_ms < ${endFull}`,
  ];
  const edges: Range[] = [];
  if (firstFull > window.fromMs) edges.push({ fromMs: window.fromMs, toMs: firstFull, fromNs: '$1', toNs: `${msToNs(firstFull)}` });
  if (endFull < window.toMs) edges.push({ fromMs: endFull, toMs: window.toMs, fromNs: `${msToNs(endFull)}`, toNs: '$2' });
  for (const range of edges) {
    for (const [measure, list] of [
      ['duration', 'durations'],
      ['queue', 'queue'],
    ]) {
      parts.push(`SELECT minute_ms AS t_ms, ${keys}, '${measure}' AS measure, ${HIST_BUCKET('v')} AS bucket, 1 AS n
        FROM (SELECT *, unnest(${list}) AS v FROM (${rollupRowsSql(range)}))`);
    }
  }
  return parts.join(' UNION ALL ');
}

/**
 * p50, p95, p99 as a list `<prefix>_q` per key from histogram counts (`bucket`, `c` per key),
 * interpolated between order statistics like `quantile_cont`, each order statistic taken as its
 * bucket's representative value.
 */
function histogramQuantilesSql(counts: string, keys: string, prefix: string): string {
  return `
    SELECT ${keys}, list(lo + (hi - lo) * (pos - floor(pos)) ORDER BY level) AS ${prefix}_q FROM (
      SELECT ${keys}, level, pos,
        max(${HIST_VALUE('bucket')}) FILTER (WHERE upto - c <= floor(pos) AND floor(pos) < upto) AS lo,
        max(${HIST_VALUE('bucket')}) FILTER (WHERE upto - c <= ceil(pos) AND ceil(pos) < upto) AS hi
      FROM (
        SELECT *, (total - 1) * level AS pos FROM (
          SELECT *, sum(c) OVER (PARTITION BY ${keys} ORDER BY bucket ROWS UNBOUNDED PRECEDING) AS upto,
            sum(c) OVER (PARTITION BY ${keys}) AS total
          FROM (${counts})
        ), (VALUES (0.5), (0.95), (0.99)) levels(level)
      )
      GROUP BY ${keys}, level, pos
    ) GROUP BY ${keys}`;
}

function windowParams(window: TimeWindow): Params {
  return windowNs(window);
}

const GROUPED = `CASE WHEN grouping(g) = 1 THEN '' ELSE g END AS grp`;
const GROUPING = `GROUP BY GROUPING SETS ((time_ms, g), (time_ms)) HAVING grouping(g) = 1 OR g <> ''`;
const COUNT_COLUMNS = 'edge_kind, n, processed, duplicates, retries, failures, dead_letters, errors, offloads, offloaded_bytes';

/** `spanBucketsSql` from the rollup: same rows; exact quantiles up to an hour, else within 1 %. */
export function spanBucketsRollupSql(window: TimeWindow, stepMs: number, by: TrendGrouping): Statement {
  const column = groupExpression(by, "edge_kind = 'consume'");
  const step = stepOf(stepMs);
  const params = windowParams(window);
  const histograms = usesHistograms(window, step.stepMs);
  const latencies = histograms
    ? `hg AS (
        SELECT time_ms, ${GROUPED}, measure, bucket, sum(n) AS c FROM (
          SELECT (t_ms // $3) * $3 AS time_ms, ${column} AS g, measure, bucket, n FROM (${histogramRowsSql(window)})
          WHERE edge_kind = 'consume'
        ) GROUP BY GROUPING SETS ((time_ms, g, measure, bucket), (time_ms, measure, bucket)) HAVING grouping(g) = 1 OR g <> ''
      ),
      processing AS (${histogramQuantilesSql(`SELECT time_ms, grp, bucket, c FROM hg WHERE measure = 'duration'`, 'time_ms, grp', 'processing')}),
      queue AS (${histogramQuantilesSql(`SELECT time_ms, grp, bucket, c FROM hg WHERE measure = 'queue'`, 'time_ms, grp', 'queue')}),`
    : `processing AS (
        SELECT time_ms, ${GROUPED}, quantile_cont(v, [0.5, 0.95, 0.99]) AS processing_q
        FROM (SELECT time_ms, g, unnest(durations) AS v FROM x WHERE edge_kind = 'consume') ${GROUPING}
      ),
      queue AS (
        SELECT time_ms, ${GROUPED}, quantile_cont(v, [0.5, 0.95, 0.99]) AS queue_q
        FROM (SELECT time_ms, g, unnest(queue) AS v FROM x WHERE edge_kind = 'consume') ${GROUPING}
      ),`;
  const sql = `
    WITH x AS MATERIALIZED (
      SELECT (minute_ms // $3) * $3 AS time_ms, ${column} AS g, ${COUNT_COLUMNS}${histograms ? '' : ', durations, queue'}
      FROM (${rollupRowsSql(windowRange(window))})
      WHERE edge_kind IN ('send', 'consume')
    ),
    agg AS (
      SELECT time_ms, ${GROUPED},
        coalesce(sum(n) FILTER (WHERE edge_kind = 'send'), 0) AS sent,
        coalesce(sum(processed) FILTER (WHERE edge_kind = 'consume'), 0) AS processed,
        coalesce(sum(duplicates) FILTER (WHERE edge_kind = 'consume'), 0) AS duplicate_deliveries,
        coalesce(sum(failures) FILTER (WHERE edge_kind = 'consume'), 0) AS retries,
        coalesce(sum(failures) FILTER (WHERE edge_kind = 'consume'), 0) AS failures,
        coalesce(sum(dead_letters) FILTER (WHERE edge_kind = 'consume'), 0) AS dead_letters,
        coalesce(sum(offloads) FILTER (WHERE edge_kind = 'send'), 0) AS offloads,
        coalesce(sum(offloaded_bytes) FILTER (WHERE edge_kind = 'send'), 0) AS offloaded_bytes
      FROM x ${GROUPING}
    ),
    ${latencies}
    dups AS (${duplicateProcessingsSql(by, '$1', '$2', '$4', '$3')}),
    outbox AS (${outboxLatencyRollupSql(by, '$1', '$2', '$4', '$3')})
    SELECT agg.*, ${quantileColumns('processing')}, ${quantileColumns('queue')}, coalesce(dups.d, 0) AS duplicate_processings,
      ${OUTBOX_COLUMNS}
    FROM agg
    LEFT JOIN processing p ON p.time_ms = agg.time_ms AND p.grp = agg.grp
    LEFT JOIN queue q ON q.time_ms = agg.time_ms AND q.grp = agg.grp
    LEFT JOIN dups ON dups.time_ms = agg.time_ms AND dups.grp = agg.grp
    LEFT JOIN outbox ON outbox.time_ms = agg.time_ms AND outbox.grp = agg.grp
    ORDER BY agg.time_ms, agg.grp`;
  return { sql, params: [...params, step.stepMs, step.stepNs] };
}

/** `activityBucketsSql` from the rollup. */
export function activityBucketsRollupSql(window: TimeWindow, stepMs: number): Statement {
  const step = stepOf(stepMs);
  const params = windowParams(window);
  const sql = `
    WITH c AS (
      -- errors counts error status or a failed, retry or dead-letter outcome: without the last
      -- two it is the attempts in error with no outcome saying why.
      SELECT (minute_ms // $3) * $3 AS time_ms, service, destination, message_type, sum(n) AS attempts,
        sum(duplicates) AS duplicate_deliveries, sum(failures) AS retries,
        sum(errors) - sum(failures) - sum(dead_letters) AS failures, sum(dead_letters) AS dead_letters
      FROM (${rollupRowsSql(windowRange(window))}) WHERE edge_kind = 'consume'
      GROUP BY ALL HAVING sum(n) > 0
    ),
    p AS (
      SELECT time_ms, service, destination, message_type, sum(n - 1) AS duplicate_processings FROM (
        SELECT (start_ns // $4) * $3 AS time_ms, service, destination, message_type, message_id, count(*) AS n FROM rollup_repeats
        WHERE start_ns >= $1 AND start_ns < $2 AND edge_kind = 'consume'
        GROUP BY ALL
      ) GROUP BY time_ms, service, destination, message_type
    )
    SELECT c.*, coalesce(p.duplicate_processings, 0) AS duplicate_processings
    FROM c LEFT JOIN p ON p.time_ms = c.time_ms AND p.service = c.service AND p.destination = c.destination
      AND p.message_type = c.message_type
    ORDER BY c.time_ms, c.service, c.destination, c.message_type`;
  return { sql, params: [...params, step.stepMs, step.stepNs] };
}

const EDGE_ENDS = `CASE WHEN edge_kind = 'consume' THEN destination ELSE service END AS source,
  CASE WHEN edge_kind = 'send' THEN destination WHEN edge_kind = 'consume' THEN service ELSE peer END AS target`;
const EDGE_KEYS = 'edge_kind, source, target';

/** `edgeAggregatesSql` from the rollup: same edges; exact quantiles up to an hour, else within 1 %. */
export function edgeAggregatesRollupSql(window: TimeWindow): Statement {
  const params = windowParams(window);
  const histograms = usesHistograms(window, null);
  const latencies = histograms
    ? histogramQuantilesSql(
        `SELECT ${EDGE_KEYS}, bucket, sum(n) AS c FROM (SELECT *, ${EDGE_ENDS} FROM (${histogramRowsSql(window)}))
         WHERE measure = 'duration' AND source <> '' AND target <> '' GROUP BY ${EDGE_KEYS}, bucket`,
        EDGE_KEYS,
        'latency',
      )
    : `SELECT ${EDGE_KEYS}, quantile_cont(v, [0.5, 0.95, 0.99]) AS latency_q
       FROM (SELECT ${EDGE_KEYS}, unnest(durations) AS v FROM c) GROUP BY ${EDGE_KEYS}`;
  const sql = `
    WITH c AS MATERIALIZED (
      SELECT * FROM (
        SELECT message_type, ${COUNT_COLUMNS}${histograms ? '' : ', durations'}, ${EDGE_ENDS}
        FROM (${rollupRowsSql(windowRange(window))})
      ) WHERE source <> '' AND target <> ''
    ),
    e AS (
      SELECT ${EDGE_KEYS},
        coalesce(list_sort(list_distinct(list(message_type) FILTER (WHERE message_type <> ''))), []) AS message_types,
        sum(n) AS n, sum(errors) AS errors, sum(duplicates) AS duplicates,
        coalesce(sum(failures) FILTER (WHERE edge_kind = 'consume'), 0) AS retries
      FROM c GROUP BY ${EDGE_KEYS}
    ),
    l AS (${latencies}),
    p AS (${edgeRepeatsSql('$1', '$2')})
    SELECT e.edge_kind AS kind, e.source, e.target, e.message_types, e.n, e.errors, e.duplicates, e.retries,
      ${quantileColumns('latency')}, coalesce(p.duplicate_processings, 0) AS duplicate_processings
    FROM e
    LEFT JOIN l ON l.edge_kind = e.edge_kind AND l.source = e.source AND l.target = e.target
    LEFT JOIN p ON p.edge_kind = e.edge_kind AND p.source = e.source AND p.target = e.target
    WHERE e.n > 0
    ORDER BY kind, e.source, e.target`;
  return { sql, params };
}
