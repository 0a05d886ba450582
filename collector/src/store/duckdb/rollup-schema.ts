import { ATTR_BUSINESS_KEY } from '@onceflow/instrumentation/semconv';
import { OUTBOX_LATENCY_SCHEMA } from './outbox-latency-sql.js';

/** (business key, conversation, first start) of the spans matching `where` that carry a business key. */
export function businessKeysOf(where: string): string {
  return `SELECT business_key, conversation_id, min(start_ns) FROM (
    SELECT json_extract_string(attributes, '$."${ATTR_BUSINESS_KEY}"') AS business_key, conversation_id, start_ns FROM spans
    WHERE ${where} AND conversation_id <> '' AND contains(attributes, '"${ATTR_BUSINESS_KEY}"')
  ) WHERE business_key IS NOT NULL AND business_key <> '' GROUP BY business_key, conversation_id`;
}

/**
 * Tables the rollup job (`rollup.ts`) keeps next to `spans`, so trends, storms and topology read
 * a few thousand pre-aggregated rows instead of every span of the window:
 *
 * - `span_rollup`: per minute × (edge kind, service, message type, destination, HTTP peer) the
 *   counts and the exact latency samples (milliseconds, as lists). Exact samples keep the
 *   quantiles equal to `quantile_cont` over the spans; they are 8 bytes per span and are read
 *   without touching any string column. Several rows may hold the same key (one per job run):
 *   readers sum them.
 * - `latency_hist`: per 5 minutes × the same key, log-bucketed latency counts (relative error
 *   ≤ 1 %, see `rollup-sql.ts`): windows longer than an hour read quantiles from it instead of
 *   every sample (exact samples of 24 h at 10M spans took seconds to sort).
 * - `rollup_repeats`: every processed span of a message id some service processed more than
 *   once. Duplicate processings (count − distinct (service, message id) per bucket and group)
 *   are computed from it at read time, exactly, for any bucket and grouping.
 * - `processed_keys`: a 64-bit hash of (service, message id) per processed span seen, with its
 *   start (retention): how the job notices that a key comes back without an index on strings.
 * - `rollup_waiting`: attempts whose send was not stored yet (exporters deliver out of order);
 *   a later run adds their queue latency when the send arrives.
 * - `outgoing_ids`: (outgoing message id → producing span), for `spansOfMessage`.
 * - `business_keys`: (business key → conversation), for `spansOfBusinessKeys`, which every flow
 *   with a business key reads when it is judged or shown (a scan of every span's attributes
 *   took 40 ms at 1M spans and grows with the store).
 * - `outbox_dispatches`, `outbox_commits`, `outbox_latency`: outbox dispatch latency per
 *   (dispatch, committing attempt) pair, see `outbox-latency-sql.ts`.
 * - `rollup_state`: the job's watermark (`ingest_seq` rolled up so far).
 */
export const ROLLUP_STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS span_rollup (
    minute_ms BIGINT NOT NULL,
    edge_kind VARCHAR NOT NULL,
    service VARCHAR NOT NULL,
    message_type VARCHAR NOT NULL,
    destination VARCHAR NOT NULL,
    peer VARCHAR NOT NULL,
    n BIGINT NOT NULL,
    processed BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    retries BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    dead_letters BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    offloads BIGINT NOT NULL,
    offloaded_bytes BIGINT NOT NULL,
    durations DOUBLE[] NOT NULL,
    queue DOUBLE[] NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS latency_hist (
    period_ms BIGINT NOT NULL,
    edge_kind VARCHAR NOT NULL,
    service VARCHAR NOT NULL,
    message_type VARCHAR NOT NULL,
    destination VARCHAR NOT NULL,
    peer VARCHAR NOT NULL,
    measure VARCHAR NOT NULL,
    bucket INTEGER NOT NULL,
    n BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS rollup_repeats (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    start_ns BIGINT NOT NULL,
    edge_kind VARCHAR NOT NULL,
    service VARCHAR NOT NULL,
    message_type VARCHAR NOT NULL,
    destination VARCHAR NOT NULL,
    peer VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS processed_keys (
    key_hash UBIGINT NOT NULL,
    start_ns BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS rollup_waiting (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    start_ns BIGINT NOT NULL,
    minute_ms BIGINT NOT NULL,
    service VARCHAR NOT NULL,
    message_type VARCHAR NOT NULL,
    destination VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS outgoing_ids (
    outgoing_id VARCHAR NOT NULL,
    conversation_id VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    start_ns BIGINT NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS outgoing_ids_by_id ON outgoing_ids (outgoing_id)',
  `CREATE TABLE IF NOT EXISTS business_keys (
    business_key VARCHAR NOT NULL,
    conversation_id VARCHAR NOT NULL,
    start_ns BIGINT NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS business_keys_by_key ON business_keys (business_key)',
  ...OUTBOX_LATENCY_SCHEMA,
  'CREATE TABLE IF NOT EXISTS rollup_state (rolled_up_seq BIGINT NOT NULL)',
];

/**
 * One-time data migrations of the rollup, each run once per file (`store_migrations` records
 * it): guarding them in SQL alone is not enough, DuckDB scans the source even when the guard is
 * false (a scan of every span's attributes at every open, measured).
 */
export const ROLLUP_MIGRATIONS: readonly { name: string; sql: string }[] = [
  {
    // A file rolled up before `business_keys` existed: index what was rolled up. A file that
    // had the table before this migration was recorded has it filled already (if not empty).
    name: 'business_keys_backfill',
    sql: `INSERT INTO business_keys SELECT * FROM (${businessKeysOf('ingest_seq <= (SELECT coalesce(max(rolled_up_seq), 0) FROM rollup_state)')})
   WHERE NOT EXISTS (SELECT 1 FROM business_keys)`,
  },
];
