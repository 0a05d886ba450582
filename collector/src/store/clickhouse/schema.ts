/**
 * ClickHouse schema of the span store: DDL text for 18.16 and current servers.
 *
 * Tables (all in the store's database):
 * - `spans` — every span, ReplacingMergeTree ordered by (ts, trace_id, span_id), partitioned by
 *   day. Time-window aggregates prune on `ts`; a span stored twice has identical sorting keys,
 *   so merges collapse it, and row reads deduplicate before that (LIMIT 1 BY).
 * - `spans_by_conversation` / `spans_by_message` — the same spans (keys, roles and the span
 *   encoded as one JSON column, `row_json`) re-sorted by conversation id /
 *   message id (18.16 has no skip indexes), fed by materialized views. Flow and message fetches
 *   read a few granules instead of scanning.
 * - `outgoing_index` — (outgoing message id → encoded span) for spans that list message ids
 *   they produced: `spansOfMessage` adds the producing attempt by a primary-key lookup here.
 * - `outbox_dispatches` — the sends marked as outbox dispatches, ordered by time: the outbox
 *   dispatch latency of trends reads the window's range of it.
 * - `search_index` — (value → conversation, latest start) for every id and span attribute value
 *   of spans that belong to a conversation: `findConversations` is one primary-key lookup.
 * - `span_rollup` — per-minute aggregate states of sends, attempts and HTTP calls (counts,
 *   previous-processed starts of repeat processings, t-digest latencies) for reads over long
 *   windows; fed by a materialized view, so it relies on the store dropping re-sent spans
 *   before they are inserted (see `insertSpans`).
 * - `flows` — flow records, ReplacingMergeTree(version): the latest analysis wins, read with FINAL.
 * - `flows_by_anomaly` — one row per (anomaly kind present, record version) with the record's
 *   summary columns, ordered by (kind, start_ms): the flow list filtered by a kind reads a range
 *   instead of every record. Fed by a materialized view on `flows`.
 * - `anomalies_by_time` — a row per anomaly of a record version by (kind, anomaly time): the
 *   anomaly list, anomaly storms and the anomaly counts of trends read a range instead of
 *   `flows FINAL`.
 * - `flow_versions_by_time` — (version → conversation), ordered by version, i.e. by analysis time:
 *   whether a row of the two tables above was superseded (an older version may carry a kind
 *   the latest no longer has) is answered from the versions written after it, a recent range,
 *   not from every record. All three are fed by materialized views on `flows`.
 *
 * Every column is a plain type (no LowCardinality, Map, DateTime64, Bool): `ts` keeps second
 * precision for partitioning and pruning, `start_ns` keeps the full nanoseconds.
 */
import { ATTR_COMMITTED_AT_MS, ATTR_OUTBOX_DISPATCH } from '@onceflow/instrumentation/semconv';
import type { QueryRunner } from './clickhouse-client.js';
import { SINGLE_SERVER, type TableLayout } from './cluster-ddl.js';
import type { ServerFeatures } from './server-features.js';
import { ROLLUP_COLUMNS_DDL, rollupSelect } from './rollup-sql.js';
import { attribute, IS_SEND } from './span-roles-sql.js';
import { SqlFragment, sql } from './sql-escape.js';

export const SPAN_KINDS = ['internal', 'server', 'client', 'producer', 'consumer'] as const;
export const STATUS_CODES = ['unset', 'ok', 'error'] as const;
export const OUTCOME_VALUES = ['', 'processed', 'duplicate', 'failed', 'retry_scheduled', 'dead_lettered'] as const;
export const OPERATION_VALUES = ['', 'send', 'receive', 'process', 'create', 'settle'] as const;

function enum8(values: readonly string[], first = 0): string {
  return `Enum8(${values.map((value, i) => `'${value}' = ${i + first}`).join(', ')})`;
}

/** Column name → type of the three full-row span tables (and the insert column list). */
export const SPAN_COLUMNS: readonly (readonly [string, string])[] = [
  ['ts', "DateTime('UTC')"],
  ['start_ns', 'UInt64'],
  ['duration_ns', 'UInt64'],
  ['trace_id', 'String'],
  ['span_id', 'String'],
  ['parent_span_id', 'String'],
  ['service', 'String'],
  ['name', 'String'],
  ['kind', enum8(SPAN_KINDS, 1)],
  ['status_code', enum8(STATUS_CODES)],
  ['status_message', 'String'],
  ['message_id', 'String'],
  ['conversation_id', 'String'],
  ['causation_id', 'String'],
  ['idempotency_key', 'String'],
  ['message_type', 'String'],
  ['attempt', 'UInt32'],
  ['outcome', enum8(OUTCOME_VALUES)],
  ['payload_bytes', 'UInt64'],
  ['payload_offloaded', 'UInt8'],
  ['payload_ref', 'String'],
  ['destination', 'String'],
  ['operation', enum8(OPERATION_VALUES)],
  ['messaging_system', 'String'],
  ['outgoing_message_ids', 'Array(String)'],
  ['links', 'Nested(trace_id String, span_id String, attributes String)'],
  ['events', 'Nested(time_ns UInt64, name String, attributes String)'],
  ['attrs', 'Nested(key String, value String)'],
  ['resource_attrs', 'Nested(key String, value String)'],
  // Earliest send of the same message id known when an attempt was stored (0 = unknown): lets
  // the rollup keep queue latency without a join. Not part of SpanRow.
  ['first_send_ns', 'UInt64'],
  // For a processed attempt: start of the latest earlier processed attempt of the same
  // (service, message id) known at insert (0 = none). The rollup counts duplicate processings
  // from it instead of keeping every processed key. Not part of SpanRow.
  ['prev_processed_ns', 'UInt64'],
  // The whole span as its JSONEachRow insert row (`span-rows.ts`), written by the client: the
  // lookup tables keep this one column instead of every column, so a point read decompresses
  // one column per part instead of ~35 (a 10M-span flow fetch: ~30 → ~5 ms on the server).
  ['row_json', 'String'],
];

/** Column names as they appear in JSONEachRow insert rows (Nested flattened). */
export const SPAN_FLAT_COLUMNS: readonly string[] = SPAN_COLUMNS.flatMap(([name, type]) => {
  const nested = /^Nested\((.*)\)$/.exec(type);
  if (!nested) return [name];
  return nested[1].split(',').map((part) => `${name}.${part.trim().split(' ')[0]}`);
});

/**
 * Columns of the lookup tables `spans_by_conversation` / `spans_by_message`: the keys, what
 * the insert path's lookups filter on (`insert-path.ts`, span roles), and the encoded span.
 */
export const LOOKUP_COLUMNS: readonly string[] = [
  'conversation_id',
  'message_id',
  'ts',
  'start_ns',
  'trace_id',
  'span_id',
  'service',
  'kind',
  'operation',
  'outcome',
  'row_json',
];

export const TABLES = [
  'spans',
  'spans_by_conversation',
  'spans_by_message',
  'outgoing_index',
  'outbox_dispatches',
  'search_index',
  'span_rollup',
  'flows',
  'flows_by_anomaly',
  'flow_versions_by_time',
  'anomalies_by_time',
] as const;
export type TableName = (typeof TABLES)[number];
/** The rows of `outbox_dispatches` for spans of `spans` (its view's SELECT; also the backfill). */
export function outboxDispatchesSelect(spans: SqlFragment): string {
  return `SELECT ts, start_ns, trace_id, span_id, conversation_id, message_id, service, destination, message_type
FROM ${spans}
WHERE ${IS_SEND} AND message_id != '' AND ${attribute(ATTR_OUTBOX_DISPATCH)} = 'true'`;
}

/**
 * A database whose spans predate `outbox_dispatches`: filled from them once at `init`, a day at a
 * time (each day one scan of its spans' attributes, bounded on a big database).
 */
export async function backfillOutboxDispatches(runner: QueryRunner, db: SqlFragment): Promise<void> {
  const days = await runner.rows<{ day: string }>(sql`SELECT DISTINCT toString(toDate(ts)) AS day FROM ${db}.spans ORDER BY day`);
  for (const { day } of days) {
    await runner.command(`INSERT INTO ${db}.outbox_dispatches ${outboxDispatchesSelect(sql`${db}.spans`)} AND toDate(ts) = ${sql`${day}`}`);
  }
}

/** Tables of flow records (retention deletes by `end_ms`). */
export const FLOW_TABLES: readonly TableName[] = ['flows', 'flows_by_anomaly', 'flow_versions_by_time', 'anomalies_by_time'];
/** Tables partitioned by day (retention drops their partitions). */
export const DAY_PARTITIONED: readonly TableName[] = TABLES.filter((table) => !FLOW_TABLES.includes(table));

/** Columns of a FlowSummary (a record without its anomalies), as `flows` and `flows_by_anomaly` hold them. */
export const FLOW_SUMMARY_DDL = `  conversation_id String,
  start_ms Float64,
  end_ms Float64,
  duration_ms Float64,
  complete UInt8,
  state Enum8('active' = 1, 'complete' = 2, 'incomplete' = 3),
  services Array(String),
  message_types Array(String),
  root_type String,
  message_count UInt32,
  span_count UInt32,
  idempotency_keys Array(String),
  business_keys Array(String),
  anomaly_kinds Array(String),
  anomaly_kind_counts Array(UInt32),
  worst_severity String,
  verdict String DEFAULT 'unknown',
  ledger String DEFAULT ''`;

/** Kinds with a positive count (a record may carry explicit zeros). */
export const PRESENT_KINDS_SQL = 'arrayFilter((k, c) -> c > 0, anomaly_kinds, anomaly_kind_counts)';

const CODECS: Record<string, string> = {
  ts: 'CODEC(Delta, ZSTD(1))',
  start_ns: 'CODEC(Delta, ZSTD(1))',
  duration_ns: 'CODEC(T64, ZSTD(1))',
  status_message: 'CODEC(ZSTD(1))',
};

function spanColumnsDdl(features: ServerFeatures, only?: readonly string[]): string {
  return SPAN_COLUMNS.filter(([name]) => !only || only.includes(name))
    .map(([name, type]) => {
      const codec = features.codecs && CODECS[name] ? ` ${CODECS[name]}` : '';
      return `  ${name} ${type}${codec}`;
    })
    .join(',\n');
}

/**
 * The statements `init()` runs, in order; each is idempotent (IF NOT EXISTS). `layout` places
 * them on one server or a cluster (`cluster-ddl.ts`): there, each storage table is followed by
 * its Distributed table and the views connect the `_local` tables.
 */
export function schemaStatements(db: SqlFragment, features: ServerFeatures, layout: TableLayout = SINGLE_SERVER): string[] {
  const settings = 'SETTINGS index_granularity = 8192';
  const { onCluster } = layout;
  const local = (table: TableName) => `${db}.${layout.storage(table)}`;
  const create = (table: TableName) => `CREATE TABLE IF NOT EXISTS ${local(table)}${onCluster}`;
  const view = (name: string, target: TableName) => `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${name}${onCluster} TO ${local(target)}`;
  const skipIndexes = features.skipIndexes ? ',\n  INDEX idx_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 4' : '';
  // The lookup tables answer point reads (one conversation, one message): small granules make
  // a fetch read a few hundred rows instead of 8192 per part.
  const spanTable = (table: TableName, orderBy: string, indexes = '', granularity = 8192, columns?: readonly string[]) => [
    `${create(table)} (\n${spanColumnsDdl(features, columns)}${indexes}\n)
ENGINE = ${layout.engine(table, 'ReplacingMergeTree')}
PARTITION BY toDate(ts)
ORDER BY (${orderBy})
SETTINGS index_granularity = ${granularity}`,
    ...layout.distributed(table),
  ];
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}${onCluster}`,
    ...spanTable('spans', 'ts, trace_id, span_id', skipIndexes),
    ...spanTable('spans_by_conversation', 'conversation_id, ts, trace_id, span_id', '', 512, LOOKUP_COLUMNS),
    ...spanTable('spans_by_message', 'message_id, ts, trace_id, span_id', '', 512, LOOKUP_COLUMNS),
    `${view('spans_by_conversation_mv', 'spans_by_conversation')}
AS SELECT ${LOOKUP_COLUMNS.join(', ')} FROM ${local('spans')} WHERE conversation_id != ''`,
    `${view('spans_by_message_mv', 'spans_by_message')}
AS SELECT ${LOOKUP_COLUMNS.join(', ')} FROM ${local('spans')} WHERE message_id != ''`,
    // Which spans list a message id among their outgoing ids (the attempt that produced it; for
    // a message never sent, the only evidence), with the encoded span and when the attempt
    // committed (0 when it recorded no commit), which the outbox dispatch latency reads.
    `${create('outgoing_index')} (
  outgoing_id String,
  ts DateTime('UTC'),
  start_ns UInt64,
  trace_id String,
  span_id String,
  row_json String,
  committed_ms Int64
)
ENGINE = ${layout.engine('outgoing_index', 'ReplacingMergeTree')}
PARTITION BY toDate(ts)
ORDER BY (outgoing_id, ts, trace_id, span_id)
SETTINGS index_granularity = 512`,
    ...layout.distributed('outgoing_index'),
    // ARRAY JOIN drops spans without outgoing ids.
    `${view('outgoing_index_mv', 'outgoing_index')}
AS SELECT outgoing_id, ts, start_ns, trace_id, span_id, row_json,
  toInt64OrZero(attrs.value[indexOf(attrs.key, '${ATTR_COMMITTED_AT_MS}')]) AS committed_ms
FROM ${local('spans')}
ARRAY JOIN outgoing_message_ids AS outgoing_id`,
    // The sends marked as outbox dispatches, for the outbox dispatch latency in trends: a range
    // of this small table instead of reading every span's attributes in the window.
    `${create('outbox_dispatches')} (
  ts DateTime('UTC'),
  start_ns UInt64,
  trace_id String,
  span_id String,
  conversation_id String,
  message_id String,
  service String,
  destination String,
  message_type String
)
ENGINE = ${layout.engine('outbox_dispatches', 'ReplacingMergeTree')}
PARTITION BY toDate(ts)
ORDER BY (ts, trace_id, span_id)
${settings}`,
    ...layout.distributed('outbox_dispatches'),
    `${view('outbox_dispatches_mv', 'outbox_dispatches')}
AS ${outboxDispatchesSelect(new SqlFragment(local('spans')))}`,
    // Latest start per (value, conversation): the version column keeps the newest.
    `${create('search_index')} (
  value String,
  conversation_id String,
  ts DateTime('UTC'),
  start_ns UInt64
)
ENGINE = ${layout.engine('search_index', 'ReplacingMergeTree', 'start_ns')}
PARTITION BY toDate(ts)
ORDER BY (value, conversation_id)
${settings}`,
    ...layout.distributed('search_index'),
    `${view('search_index_mv', 'search_index')}
AS SELECT value, conversation_id, ts, start_ns
FROM ${local('spans')}
ARRAY JOIN arrayFilter(v -> v != '', arrayConcat(
  [conversation_id, message_id, idempotency_key, trace_id, causation_id], attrs.value)) AS value
WHERE conversation_id != ''`,
    `${create('span_rollup')} (\n${ROLLUP_COLUMNS_DDL}\n)
ENGINE = ${layout.engine('span_rollup', 'AggregatingMergeTree')}
PARTITION BY toDate(minute)
ORDER BY (minute, edge_kind, service, message_type, destination, peer)
${settings}`,
    ...layout.distributed('span_rollup'),
    `${view('span_rollup_mv', 'span_rollup')}
AS ${rollupSelect(new SqlFragment(local('spans')), sql`1`)}`,
    `${create('flows')} (
${FLOW_SUMMARY_DDL},
  anomalies Nested(kind String, severity String, message_id String, message_type String,
    service String, detail String, time_ms Float64, endpoint String),
  analyzed_at_ms Float64,
  version UInt64
)
ENGINE = ${layout.engine('flows', 'ReplacingMergeTree', 'version')}
ORDER BY conversation_id
SETTINGS index_granularity = 1024`,
    ...layout.distributed('flows'),
  ];
}

const FLOW_SUMMARY_NAMES = FLOW_SUMMARY_DDL.split(',\n').map((line) => line.trim().split(' ')[0]);

/** The rows of `flows_by_anomaly` for records of `flows` (the view's SELECT; also the backfill). */
export function flowsByAnomalySelect(flows: SqlFragment): string {
  return `SELECT arrayJoin(${PRESENT_KINDS_SQL}) AS kind, ${FLOW_SUMMARY_NAMES.join(', ')}, version
FROM ${flows}`;
}

/** One row per anomaly of a record version; `seq` is its position in the record (the order of ties). */
export function anomaliesByTimeSelect(flows: SqlFragment): string {
  return `SELECT kind, time_ms, conversation_id, version, seq, severity, message_id, message_type, service, detail, endpoint, end_ms
FROM ${flows}
ARRAY JOIN arrayEnumerate(anomalies.kind) AS seq, anomalies.kind AS kind, anomalies.time_ms AS time_ms,
  anomalies.severity AS severity, anomalies.message_id AS message_id, anomalies.message_type AS message_type,
  anomalies.service AS service, anomalies.detail AS detail, anomalies.endpoint AS endpoint`;
}

/** A table derived from `flows` by a view: its columns, sorting key, granule size, and the SELECT the view (and a backfill) runs. */
interface FlowIndexTable {
  table: TableName;
  columns: string;
  orderBy: string;
  granularity: number;
  select: (flows: SqlFragment) => string;
}

/**
 * The tables that let flow reads take a range instead of merging every record (`flows FINAL`):
 * each keeps a row per record version (ReplacingMergeTree on the whole row's key: a version
 * saved twice collapses on merge, and readers take one of them), and a reader drops the rows a
 * later version of the same conversation superseded, found in `flow_versions_by_time`
 * (`isLatestVersion`).
 */
export const FLOW_INDEX_TABLES: readonly FlowIndexTable[] = [
  // The flow list filtered by an anomaly kind: a row per kind present.
  {
    table: 'flows_by_anomaly',
    columns: `  kind String,\n${FLOW_SUMMARY_DDL},\n  version UInt64`,
    orderBy: 'kind, start_ms, conversation_id, version',
    granularity: 1024,
    select: flowsByAnomalySelect,
  },
  // Ordered by version (the analysis time in µs): the versions that can supersede a set of rows
  // are the ones after the oldest of them, a range at the end of the table for recent windows
  // (ordered by conversation id, random ids touched nearly every compressed block of it).
  {
    table: 'flow_versions_by_time',
    // `conversation_hash` lets a reader pick a set of conversations' rows out of the range
    // without hashing every id in it (the exact id is compared afterwards).
    columns: '  version UInt64,\n  conversation_id String,\n  conversation_hash UInt64,\n  end_ms Float64',
    orderBy: 'version, conversation_id',
    granularity: 1024,
    select: (flows) => `SELECT version, conversation_id, cityHash64(conversation_id) AS conversation_hash, end_ms FROM ${flows}`,
  },
  // The anomaly list, anomaly trends and anomaly storms, by anomaly time (per kind).
  {
    table: 'anomalies_by_time',
    columns: [
      'kind String',
      'time_ms Float64',
      'conversation_id String',
      'version UInt64',
      'seq UInt32',
      ...['severity', 'message_id', 'message_type', 'service', 'detail', 'endpoint'].map((name) => `${name} String`),
      'end_ms Float64',
    ]
      .map((column) => `  ${column}`)
      .join(',\n'),
    orderBy: 'kind, time_ms, conversation_id, version, seq',
    granularity: 1024,
    select: anomaliesByTimeSelect,
  },
];

/** `FLOW_INDEX_TABLES` and their views: created after `flows` has every column (after `LEDGER_COLUMNS` are added). */
export function flowIndexStatements(db: SqlFragment, layout: TableLayout = SINGLE_SERVER): string[] {
  const { onCluster } = layout;
  const local = (table: TableName) => `${db}.${layout.storage(table)}`;
  const flows = new SqlFragment(local('flows'));
  return FLOW_INDEX_TABLES.flatMap(({ table, columns, orderBy, granularity, select }) => [
    `CREATE TABLE IF NOT EXISTS ${local(table)}${onCluster} (
${columns}
)
ENGINE = ${layout.engine(table, 'ReplacingMergeTree')}
ORDER BY (${orderBy})
SETTINGS index_granularity = ${granularity}`,
    ...layout.distributed(table),
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${table}_mv${onCluster} TO ${local(table)}
AS ${select(flows)}`,
  ]);
}

/**
 * A database whose `flows` predate an index table: its view sees only records saved from now
 * on, so the stored records are copied in once (at `init`, right after creating it). A record
 * saved in between is in both; the index tables collapse identical rows and readers take one
 * row per conversation.
 */
export async function backfillFlowIndex(runner: QueryRunner, db: SqlFragment, tables: readonly TableName[]): Promise<void> {
  for (const { table, select } of FLOW_INDEX_TABLES) {
    if (tables.includes(table)) await runner.command(`INSERT INTO ${db}.${table} ${select(sql`${db}.flows`)}`);
  }
}

/**
 * What an older Onceflow created and nothing reads any more, to drop at `init` (derived from
 * `flows`, so nothing is lost): `flow_versions`, ordered by conversation id, which
 * `flow_versions_by_time` replaced. Only the names in `existing` (the database's tables); its
 * view first, so no insert into `flows` writes to a table being dropped, and on a cluster the
 * Distributed table before its `_local` tables.
 */
export function obsoleteStatements(db: SqlFragment, existing: ReadonlySet<string>, layout: TableLayout = SINGLE_SERVER): string[] {
  return ['flow_versions_mv', 'flow_versions', 'flow_versions_local']
    .filter((name) => existing.has(name))
    .map((name) => `DROP TABLE IF EXISTS ${db}.${name}${layout.onCluster}`);
}

/** Columns the flows table gained with the exactly-once ledger (name, definition), added to tables created before it. */
export const LEDGER_COLUMNS: [string, string][] = [
  ['verdict', "verdict String DEFAULT 'unknown'"],
  ['ledger', "ledger String DEFAULT ''"],
  ['anomalies.endpoint', '`anomalies.endpoint` Array(String)'],
];
