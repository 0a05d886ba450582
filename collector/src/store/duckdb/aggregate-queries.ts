/**
 * The aggregate queries of the DuckDB store: config in, `{ sql, params }` out, so the text
 * can be read and tested apart from a database. Every value is a bound parameter; the only
 * things spliced into the text are column names and constants of the code.
 *
 * Span roles are those of `model/span-roles.ts` (in SQL: `span-roles-sql.ts`); an attempt's
 * duration is its processing latency.
 * Buckets are epoch-aligned: timeMs = floor(startMs / stepMs) * stepMs. Quantiles interpolate
 * linearly between the nearest values of the exact sample (`quantile_cont`).
 */
import type { SpanStormKind, TrendGrouping } from '../../model/flow.js';
import { msToNs } from '../../model/span.js';
import type { ActivityKey, TimeWindow } from '../span-store.js';
import { TREND_ANOMALY_COLUMNS, VERDICT_COLUMNS } from '../aggregate-rows.js';
import type { Statement } from './duckdb-client.js';
import { ATTR_COMMITTED_AT_MS, ATTR_OUTBOX_DISPATCH } from '@onceflow/instrumentation/semconv';
import { attribute, HTTP_PEER, IS_ATTEMPT, IS_CLIENT_KIND, IS_HTTP_CLIENT, IS_SEND } from './span-roles-sql.js';

/**
 * The endpoint of a span: for an attempt (`consumed` holds) its service and the destination it
 * consumed from (the service alone without one); for a send its service.
 */
export const endpointSql = (consumed: string) =>
  `(CASE WHEN ${consumed} AND destination <> '' THEN service || '/' || destination ELSE service END)`;

/** The SQL of a trend grouping over a relation with span columns; `consumed` tells attempts apart. */
export function groupExpression(by: TrendGrouping, consumed: string): string {
  switch (by) {
    case 'service':
      return 'service';
    case 'messageType':
      return 'message_type';
    case 'destination':
      return 'destination';
    case 'endpoint':
      return endpointSql(consumed);
    default:
      throw new TypeError(`unknown grouping: ${String(by)}`);
  }
}

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
 * Processed attempts in [from, to) whose endpoint (service, destination) processed the same
 * message id before, however long before: every processed span of such an id is in
 * `rollup_repeats` (see `rollup-schema.ts`), so ranking them per endpoint and id is exact.
 * Attempts without a message id have no identity to repeat and are left out.
 */
function repeatedProcessingsSql(from: string, to: string): string {
  return `
    SELECT * FROM (
      SELECT *, row_number() OVER (PARTITION BY service, destination, message_id ORDER BY start_ns, trace_id, span_id) AS nth
      FROM rollup_repeats
      WHERE edge_kind = 'consume' AND message_id <> ''
        AND message_id IN (SELECT message_id FROM rollup_repeats WHERE start_ns >= ${from} AND start_ns < ${to})
    ) WHERE nth > 1 AND start_ns >= ${from} AND start_ns < ${to}`;
}

/**
 * Duplicate processings per (time_ms, grp): per group, and over all groups (''). Bounds, step
 * in ns and step in ms are parameter names of the calling statement.
 */
export function duplicateProcessingsSql(by: TrendGrouping, from: string, to: string, stepNs: string, stepMs: string): string {
  return `
      SELECT time_ms, CASE WHEN grouping(g) = 1 THEN '' ELSE g END AS grp, count(*) AS d FROM (
        SELECT (start_ns // ${stepNs}) * ${stepMs} AS time_ms, ${groupExpression(by, 'true')} AS g FROM (${repeatedProcessingsSql(from, to)})
      ) GROUP BY GROUPING SETS ((time_ms, g), (time_ms)) HAVING grouping(g) = 1 OR g <> ''`;
}

/**
 * Outbox dispatch latency per (time_ms, grp): p50 and p99 (as the list `outbox_q`) of the start
 * of each send marked as an outbox dispatch minus the commit time of the attempt that listed its
 * message id as outgoing (`outgoing_ids`, kept by the rollup job). Bucketed and grouped by the
 * send; the attempt is looked for from `SEND_LOOKBACK_MS` before the window. Spans are
 * narrowed by a substring test on the attribute names before any JSON is parsed (sends without
 * a dispatch mark, attempts without a commit time: nearly all of them).
 */
export function outboxLatencySql(by: TrendGrouping, from: string, to: string, stepNs: string, stepMs: string): string {
  const lookback = `${from} - ${msToNs(SEND_LOOKBACK_MS)}`;
  return `
      SELECT time_ms, CASE WHEN grouping(g) = 1 THEN '' ELSE g END AS grp, quantile_cont(ms, [0.5, 0.99]) AS outbox_q FROM (
        SELECT (d.start_ns // ${stepNs}) * ${stepMs} AS time_ms, d.g, (d.start_ns - a.committed_ms * 1000000) / 1e6 AS ms
        FROM (
          SELECT start_ns, message_id, ${groupExpression(by, 'false')} AS g FROM spans
          WHERE start_ns >= ${from} AND start_ns < ${to} AND contains(attributes, '"${ATTR_OUTBOX_DISPATCH}"')
            AND ${IS_SEND} AND message_id <> '' AND ${attribute(ATTR_OUTBOX_DISPATCH)} = 'true'
        ) d
        JOIN outgoing_ids o ON o.outgoing_id = d.message_id AND o.start_ns >= ${lookback} AND o.start_ns < ${to}
        JOIN (
          SELECT trace_id, span_id, TRY_CAST(${attribute(ATTR_COMMITTED_AT_MS)} AS BIGINT) AS committed_ms FROM spans
          WHERE start_ns >= ${lookback} AND start_ns < ${to} AND contains(attributes, '"${ATTR_COMMITTED_AT_MS}"')
        ) a ON a.trace_id = o.trace_id AND a.span_id = o.span_id
        WHERE a.committed_ms IS NOT NULL
      ) GROUP BY GROUPING SETS ((time_ms, g), (time_ms)) HAVING grouping(g) = 1 OR g <> ''`;
}

/** The outbox latency columns of a bucket row, from `outboxLatencySql` joined as `outbox`. */
export const OUTBOX_COLUMNS = 'outbox.outbox_q[1] AS outbox_p50, outbox.outbox_q[2] AS outbox_p99';

export function spanBucketsSql(window: TimeWindow, stepMs: number, by: TrendGrouping): Statement {
  const column = groupExpression(by, 'is_attempt');
  const [fromNs, toNs] = windowNs(window);
  const step = stepOf(stepMs);
  // Only sends and attempts make a (bucket, group) row; a group value of '' counts in the totals
  // only. Duplicate processings come from the rollup's repeats (the store catches it up first).
  const sql = `
    WITH m AS MATERIALIZED (
      SELECT (start_ns // $3) * $4 AS time_ms, ${column} AS g, message_id, outcome,
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
        count(*) FILTER (WHERE is_attempt AND outcome IN ('failed', 'retry_scheduled')) AS retries,
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
    dups AS (${duplicateProcessingsSql(by, '$1', '$2', '$3', '$4')}),
    outbox AS (${outboxLatencySql(by, '$1', '$2', '$3', '$4')})
    SELECT agg.* EXCLUDE (processing_q, queue_q), ${quantileColumns('processing')}, ${quantileColumns('queue')},
      coalesce(dups.d, 0) AS duplicate_processings, ${OUTBOX_COLUMNS}
    FROM agg LEFT JOIN dups ON dups.time_ms = agg.time_ms AND dups.grp = agg.grp
    LEFT JOIN outbox ON outbox.time_ms = agg.time_ms AND outbox.grp = agg.grp
    ORDER BY agg.time_ms, agg.grp`;
  return { sql, params: [fromNs, toNs, step.stepNs, step.stepMs, fromNs - msToNs(SEND_LOOKBACK_MS)] };
}

/**
 * Flow completion per bucket of flow start (completed flows, their duration quantiles,
 * incomplete flows), and anomalies of the trend kinds per bucket of anomaly time.
 */
export function flowBucketsSql(window: TimeWindow, stepMs: number): Statement {
  windowNs(window);
  const step = stepOf(stepMs);
  const kinds = TREND_ANOMALY_COLUMNS.map(([kind]) => `'${kind}'`).join(', ');
  const sql = `
    WITH f AS (
      SELECT floor(start_ms / $3) * $3 AS time_ms,
        count(*) FILTER (WHERE state = 'complete') AS flows_completed,
        quantile_cont(duration_ms, 0.5) FILTER (WHERE state = 'complete') AS completion_p50,
        quantile_cont(duration_ms, 0.95) FILTER (WHERE state = 'complete') AS completion_p95,
        count(*) FILTER (WHERE state = 'incomplete') AS incomplete_flows,
        ${VERDICT_COLUMNS.map(([verdict, column]) => `count(*) FILTER (WHERE verdict = '${verdict}') AS ${column}`).join(', ')}
      FROM flows
      WHERE start_ms >= $1 AND start_ms < $2
      GROUP BY 1
    ),
    a AS (
      SELECT floor(time_ms / $3) * $3 AS time_ms,
        ${TREND_ANOMALY_COLUMNS.map(([kind, column]) => `count(*) FILTER (WHERE kind = '${kind}') AS ${column}`).join(', ')}
      FROM anomalies
      WHERE time_ms >= $1 AND time_ms < $2 AND kind IN (${kinds})
      GROUP BY 1
    )
    SELECT coalesce(f.time_ms, a.time_ms) AS time_ms, coalesce(f.flows_completed, 0) AS flows_completed,
      f.completion_p50, f.completion_p95, coalesce(f.incomplete_flows, 0) AS incomplete_flows,
      ${VERDICT_COLUMNS.map(([, column]) => `coalesce(f.${column}, 0) AS ${column}`).join(', ')},
      ${TREND_ANOMALY_COLUMNS.map(([, column]) => `coalesce(a.${column}, 0) AS ${column}`).join(', ')}
    FROM f FULL OUTER JOIN a ON a.time_ms = f.time_ms
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

/** Duplicate processings per consume edge (destination → service) from the repeats. */
export function edgeRepeatsSql(from: string, to: string): string {
  return `
      SELECT 'consume' AS edge_kind, destination AS source, service AS target, count(*) AS duplicate_processings
      FROM (${repeatedProcessingsSql(from, to)}) WHERE destination <> '' AND service <> ''
      GROUP BY ALL`;
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
        count(*) FILTER (WHERE edge_kind = 'consume' AND outcome IN ('failed', 'retry_scheduled')) AS retries,
        ${quantiles('duration_ns / 1e6', 'true', 'latency')}
      FROM c WHERE source <> '' AND target <> ''
      GROUP BY edge_kind, source, target
    ),
    p AS (${edgeRepeatsSql('$1', '$2')})
    SELECT e.edge_kind AS kind, e.* EXCLUDE (edge_kind, latency_q), ${quantileColumns('latency')}, coalesce(p.duplicate_processings, 0) AS duplicate_processings
    FROM e LEFT JOIN p ON p.edge_kind = e.edge_kind AND p.source = e.source AND p.target = e.target
    ORDER BY kind, e.source, e.target`;
  return { sql, params: [fromNs, toNs] };
}
