/**
 * The aggregate queries of the DuckDB store: config in, `{ sql, params }` out, so the text
 * can be read and tested apart from a database. Every value is a bound parameter; the only
 * thing spliced into the text is a column name from a fixed allow-list.
 *
 * Span roles are those of `model/span-roles.ts` (in SQL: `span-roles-sql.ts`); an attempt's
 * duration is its processing latency.
 * Buckets are epoch-aligned: timeMs = floor(startMs / stepMs) * stepMs. Quantiles interpolate
 * linearly between the nearest values of the exact sample (`quantile_cont`).
 */
import type { SpanStormKind, TrendGrouping } from '../../model/flow.js';
import { msToNs } from '../../model/span.js';
import type { ActivityKey, TimeWindow } from '../span-store.js';
import type { Statement } from './duckdb-client.js';
import { HTTP_PEER, IS_ATTEMPT, IS_CLIENT_KIND, IS_HTTP_CLIENT, IS_SEND } from './span-roles-sql.js';

export const GROUP_COLUMNS: Record<TrendGrouping, string> = {
  service: 'service',
  messageType: 'message_type',
  destination: 'destination',
};

export function windowNs(window: TimeWindow): [bigint, bigint] {
  if (!Number.isFinite(window.fromMs) || !Number.isFinite(window.toMs)) {
    throw new TypeError('invalid window: bounds must be finite epoch milliseconds');
  }
  return [msToNs(window.fromMs), msToNs(window.toMs)];
}

export function stepOf(stepMs: number): { stepMs: number; stepNs: bigint } {
  if (!Number.isInteger(stepMs) || stepMs < 1) throw new TypeError(`invalid step: ${stepMs}`);
  return { stepMs, stepNs: BigInt(stepMs) * 1_000_000n };
}

/** p50, p95 and p99 of a column in one aggregate (one sort), as a list `<prefix>_q`. */
export const quantiles = (column: string, filter: string, prefix: string) =>
  `quantile_cont(${column}, [0.5, 0.95, 0.99]) FILTER (WHERE ${filter}) AS ${prefix}_q`;

/** Spreads a `<prefix>_q` list into `<prefix>_p50`, `_p95`, `_p99` columns. */
export const quantileColumns = (prefix: string) =>
  `${prefix}_q[1] AS ${prefix}_p50, ${prefix}_q[2] AS ${prefix}_p95, ${prefix}_q[3] AS ${prefix}_p99`;

/**
 * How far before the window the earliest send of a message is looked for (queue latency).
 * Bounding it keeps the lookup to a zone-map-pruned slice of the table instead of all of it;
 * a message first sent more than this before the window gets no queue latency.
 */
export const SEND_LOOKBACK_MS = 3_600_000;

/**
 * Duplicate processings per (time_ms, grp) from a relation of processed attempts counted per
 * (time_ms, g, service, message_id) as `n`: per group, and over all groups ('').
 */
export function duplicateProcessingsSql(processed: string): string {
  return `
      SELECT time_ms, g AS grp, sum(n - 1) AS d FROM ${processed} WHERE g <> '' GROUP BY time_ms, g
      UNION ALL
      SELECT time_ms, '' AS grp, sum(n - 1) FROM (
        SELECT time_ms, service, message_id, sum(n) AS n FROM ${processed} GROUP BY time_ms, service, message_id
      ) GROUP BY time_ms`;
}

export function spanBucketsSql(window: TimeWindow, stepMs: number, by: TrendGrouping): Statement {
  const column = GROUP_COLUMNS[by];
  if (!column) throw new TypeError(`unknown grouping: ${String(by)}`);
  const [fromNs, toNs] = windowNs(window);
  const step = stepOf(stepMs);
  // Only sends and attempts make a (bucket, group) row; a group value of '' counts in the totals
  // only. Duplicate processings are counted in two steps (per message, then per group): much
  // cheaper than count(DISTINCT …) per group.
  const sql = `
    WITH m AS MATERIALIZED (
      SELECT (start_ns // $3) * $4 AS time_ms, ${column} AS g, service, message_id, outcome, attempt,
             start_ns, duration_ns, payload_offloaded, payload_bytes, is_send, is_attempt
      FROM (SELECT *, ${IS_SEND} AS is_send, ${IS_ATTEMPT} AS is_attempt FROM spans WHERE start_ns >= $1 AND start_ns < $2)
      WHERE is_send OR is_attempt
    ),
    first_send AS (
      SELECT message_id, min(start_ns) AS sent_ns FROM spans
      WHERE start_ns >= $5 AND start_ns < $2 AND ${IS_SEND} AND message_id <> ''
      GROUP BY message_id
    ),
    x AS (
      SELECT m.*, duration_ns / 1e6 AS processing_ms,
        CASE WHEN m.is_attempt THEN (m.start_ns - f.sent_ns) / 1e6 END AS queue_ms
      FROM m LEFT JOIN first_send f ON f.message_id = m.message_id
    ),
    agg AS (
      SELECT time_ms, CASE WHEN grouping(g) = 1 THEN '' ELSE g END AS grp,
        count(*) FILTER (WHERE is_send) AS sent,
        count(*) FILTER (WHERE is_attempt AND outcome = 'processed') AS processed,
        count(*) FILTER (WHERE is_attempt AND outcome = 'duplicate') AS duplicate_deliveries,
        count(*) FILTER (WHERE is_attempt AND attempt > 1) AS retries,
        count(*) FILTER (WHERE is_attempt AND outcome IN ('failed', 'retry_scheduled')) AS failures,
        count(*) FILTER (WHERE is_attempt AND outcome = 'dead_lettered') AS dead_letters,
        count(*) FILTER (WHERE is_send AND payload_offloaded) AS offloads,
        coalesce(sum(payload_bytes) FILTER (WHERE is_send AND payload_offloaded), 0) AS offloaded_bytes,
        ${quantiles('processing_ms', 'is_attempt', 'processing')},
        ${quantiles('queue_ms', 'queue_ms IS NOT NULL', 'queue')}
      FROM x
      GROUP BY GROUPING SETS ((time_ms, g), (time_ms))
      HAVING grouping(g) = 1 OR g <> ''
    ),
    processed AS (
      SELECT time_ms, g, service, message_id, count(*) AS n FROM m
      WHERE is_attempt AND outcome = 'processed'
      GROUP BY time_ms, g, service, message_id
    ),
    dups AS (${duplicateProcessingsSql('processed')})
    SELECT agg.* EXCLUDE (processing_q, queue_q), ${quantileColumns('processing')}, ${quantileColumns('queue')},
      coalesce(dups.d, 0) AS duplicate_processings
    FROM agg LEFT JOIN dups ON dups.time_ms = agg.time_ms AND dups.grp = agg.grp
    ORDER BY agg.time_ms, agg.grp`;
  return { sql, params: [fromNs, toNs, step.stepNs, step.stepMs, fromNs - msToNs(SEND_LOOKBACK_MS)] };
}

/** Flow completion per bucket of flow start: completed flows, their duration quantiles, incomplete flows. */
export function flowBucketsSql(window: TimeWindow, stepMs: number): Statement {
  windowNs(window);
  const step = stepOf(stepMs);
  const sql = `
    SELECT floor(start_ms / $3) * $3 AS time_ms,
      count(*) FILTER (WHERE state = 'complete') AS flows_completed,
      quantile_cont(duration_ms, 0.5) FILTER (WHERE state = 'complete') AS completion_p50,
      quantile_cont(duration_ms, 0.95) FILTER (WHERE state = 'complete') AS completion_p95,
      count(*) FILTER (WHERE state = 'incomplete') AS incomplete_flows
    FROM flows
    WHERE start_ms >= $1 AND start_ms < $2
    GROUP BY 1
    ORDER BY 1`;
  return { sql, params: [window.fromMs, window.toMs, step.stepMs] };
}

/** An attempt that failed and will be tried again (storm kind `retry`). */
export const IS_RETRY = `outcome IN ('failed', 'retry_scheduled')`;
/** An attempt in error with no outcome saying why (storm kind `failure`). */
export const IS_FAILURE = `(status_code = 'error' AND outcome NOT IN ('failed', 'retry_scheduled', 'dead_lettered'))`;

/** Per storm kind, what one message id contributes to it (the top keys of an episode). */
const KEY_MEASURES: Record<SpanStormKind, string> = {
  'duplicate-delivery': `count(*) FILTER (WHERE outcome = 'duplicate')`,
  'duplicate-processing': `greatest(count(*) FILTER (WHERE outcome = 'processed'), 1) - 1`,
  retry: `count(*) FILTER (WHERE ${IS_RETRY})`,
  failure: `count(*) FILTER (WHERE ${IS_FAILURE})`,
  'dead-letter': `count(*) FILTER (WHERE outcome = 'dead_lettered')`,
};

export function activityBucketsSql(window: TimeWindow, stepMs: number): Statement {
  const [fromNs, toNs] = windowNs(window);
  const step = stepOf(stepMs);
  const sql = `
    WITH a AS MATERIALIZED (
      SELECT (start_ns // $3) * $4 AS time_ms, service, destination, message_type, message_id, outcome, status_code
      FROM spans WHERE start_ns >= $1 AND start_ns < $2 AND ${IS_ATTEMPT}
    ),
    c AS (
      SELECT time_ms, service, destination, message_type, count(*) AS attempts,
        count(*) FILTER (WHERE outcome = 'duplicate') AS duplicate_deliveries,
        count(*) FILTER (WHERE ${IS_RETRY}) AS retries,
        count(*) FILTER (WHERE ${IS_FAILURE}) AS failures,
        count(*) FILTER (WHERE outcome = 'dead_lettered') AS dead_letters
      FROM a GROUP BY time_ms, service, destination, message_type
    ),
    p AS (
      SELECT time_ms, service, destination, message_type, sum(n - 1) AS duplicate_processings FROM (
        SELECT time_ms, service, destination, message_type, message_id, count(*) AS n FROM a
        WHERE outcome = 'processed' GROUP BY ALL
      ) GROUP BY time_ms, service, destination, message_type
    )
    SELECT c.*, coalesce(p.duplicate_processings, 0) AS duplicate_processings
    FROM c LEFT JOIN p ON p.time_ms = c.time_ms AND p.service = c.service AND p.destination = c.destination
      AND p.message_type = c.message_type
    ORDER BY c.time_ms, c.service, c.destination, c.message_type`;
  return { sql, params: [fromNs, toNs, step.stepNs, step.stepMs] };
}

export function topKeysSql(window: TimeWindow, key: ActivityKey, kind: SpanStormKind, limit: number): Statement {
  const [fromNs, toNs] = windowNs(window);
  const measure = Object.hasOwn(KEY_MEASURES, kind) ? KEY_MEASURES[kind] : undefined;
  if (!measure) throw new TypeError(`unknown key kind: ${String(kind)}`);
  const sql = `
    SELECT message_id, n FROM (
      SELECT message_id, ${measure} AS n FROM spans
      WHERE start_ns >= $1 AND start_ns < $2 AND ${IS_ATTEMPT} AND service = $3 AND destination = $4
        AND message_type = $5 AND message_id <> ''
      GROUP BY message_id
    )
    WHERE n > 0
    ORDER BY n DESC, message_id
    LIMIT $6`;
  return { sql, params: [fromNs, toNs, key.service, key.destination, key.messageType, limit] };
}

/** Send, consume and HTTP edges in one scan of the window (no joins between spans). */
export function edgeAggregatesSql(window: TimeWindow): Statement {
  const [fromNs, toNs] = windowNs(window);
  // Attributes are parsed only for client spans (CASE evaluates a branch for its rows only).
  const sql = `
    WITH k AS (
      SELECT *, CASE WHEN ${IS_SEND} THEN 'send' WHEN ${IS_ATTEMPT} THEN 'consume'
                     WHEN ${IS_CLIENT_KIND} THEN (CASE WHEN ${IS_HTTP_CLIENT} THEN 'http' ELSE '' END)
                     ELSE '' END AS edge_kind
      FROM spans WHERE start_ns >= $1 AND start_ns < $2
    ),
    c AS MATERIALIZED (
      SELECT edge_kind, message_type, status_code, outcome, message_id, attempt, duration_ns,
        CASE WHEN edge_kind = 'consume' THEN destination ELSE service END AS source,
        CASE WHEN edge_kind = 'send' THEN destination WHEN edge_kind = 'consume' THEN service ELSE ${HTTP_PEER} END AS target
      FROM k WHERE edge_kind <> ''
    ),
    e AS (
      SELECT edge_kind, source, target,
        coalesce(list_sort(list_distinct(list(message_type) FILTER (WHERE message_type <> ''))), []) AS message_types,
        count(*) AS n,
        count(*) FILTER (WHERE status_code = 'error' OR outcome IN ('failed', 'retry_scheduled', 'dead_lettered')) AS errors,
        count(*) FILTER (WHERE outcome = 'duplicate') AS duplicates,
        count(*) FILTER (WHERE edge_kind = 'consume' AND attempt > 1) AS retries,
        ${quantiles('duration_ns / 1e6', 'true', 'latency')}
      FROM c WHERE source <> '' AND target <> ''
      GROUP BY edge_kind, source, target
    ),
    p AS (
      SELECT edge_kind, source, target, sum(n - 1) AS duplicate_processings FROM (
        SELECT edge_kind, source, target, message_id, count(*) AS n FROM c
        WHERE outcome = 'processed' AND source <> '' AND target <> ''
        GROUP BY edge_kind, source, target, message_id
      ) GROUP BY edge_kind, source, target
    )
    SELECT e.edge_kind AS kind, e.* EXCLUDE (edge_kind, latency_q), ${quantileColumns('latency')}, coalesce(p.duplicate_processings, 0) AS duplicate_processings
    FROM e LEFT JOIN p ON p.edge_kind = e.edge_kind AND p.source = e.source AND p.target = e.target
    ORDER BY kind, e.source, e.target`;
  return { sql, params: [fromNs, toNs] };
}
