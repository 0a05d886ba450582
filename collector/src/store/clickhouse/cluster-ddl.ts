/**
 * How the schema's tables are laid out (pure): on one server, or on a cluster
 * (`--clickhouse-cluster NAME`).
 *
 * On a cluster every statement runs `ON CLUSTER NAME`, and each storage table `<t>` becomes
 * - `<t>_local` on every node: the Replicated variant of its engine, ZooKeeper path
 *   `/clickhouse/tables/{shard}/<database>/<t>_local`, replica `{replica}` (macros each node
 *   defines), holding that shard's rows;
 * - `<t>`: a Distributed table over the `<t>_local` of every shard, which the store reads and
 *   inserts into under the same name as on one server, so no query text changes.
 * Materialized views read and write the `_local` tables: each node derives its lookup tables,
 * rollup and flow index from the rows of its own shard.
 *
 * Sharding: spans and flow records by a hash of the conversation id (spans without one by their
 * trace id), so a conversation's spans, its flow record and every row derived from them live on
 * one shard: ReplacingMergeTree (and FINAL) collapse versions that can only meet on that shard,
 * and a re-sent span lands where its first copy is. Tables only written by views get no
 * sharding key, so a direct insert into them fails instead of scattering rows.
 */
import type { TableName } from './schema.js';
import { sqlDatabase, type SqlFragment } from './sql-escape.js';

const SPAN_SHARDING_KEY = "cityHash64(if(conversation_id = '', trace_id, conversation_id))";
const FLOW_SHARDING_KEY = 'cityHash64(conversation_id)';

/** The Distributed table's sharding key, for tables whose rows are inserted (or could be re-inserted) through it. */
export const SHARDING_KEYS: Partial<Record<TableName, string>> = {
  spans: SPAN_SHARDING_KEY,
  spans_by_conversation: SPAN_SHARDING_KEY,
  spans_by_message: SPAN_SHARDING_KEY,
  // Only spans with a conversation id reach it: the same shard as the spans.
  search_index: FLOW_SHARDING_KEY,
  flows: FLOW_SHARDING_KEY,
  // Written once by the backfill of an older database (`init`), through the Distributed table.
  outbox_dispatches: SPAN_SHARDING_KEY,
  flows_by_anomaly: FLOW_SHARDING_KEY,
  flow_versions_by_time: FLOW_SHARDING_KEY,
  anomalies_by_time: FLOW_SHARDING_KEY,
};

export interface TableLayout {
  /** `` or ` ON CLUSTER `name`` (after the table name of a CREATE / ALTER / DROP). */
  readonly onCluster: string;
  /** The table holding the rows: `<t>` on one server, `<t>_local` on a cluster. */
  storage(table: TableName): string;
  /** `engine(args)`, or its Replicated variant with the ZooKeeper path and replica first. */
  engine(table: TableName, engine: string, args?: string): string;
  /** After a storage table: nothing on one server, its Distributed table on a cluster. */
  distributed(table: TableName): string[];
}

export const SINGLE_SERVER: TableLayout = {
  onCluster: '',
  storage: (table) => table,
  engine: (_table, engine, args) => (args ? `${engine}(${args})` : engine),
  distributed: () => [],
};

export function clusterLayout(cluster: string, database: string): TableLayout {
  const name = String(sqlDatabase(cluster));
  const db: SqlFragment = sqlDatabase(database);
  const local = (table: TableName) => `${table}_local`;
  return {
    onCluster: ` ON CLUSTER ${name}`,
    storage: local,
    engine: (table, engine, args) => {
      const replication = `'/clickhouse/tables/{shard}/${database}/${local(table)}', '{replica}'`;
      return `Replicated${engine}(${args ? `${replication}, ${args}` : replication})`;
    },
    distributed: (table) => {
      const key = SHARDING_KEYS[table];
      return [
        `CREATE TABLE IF NOT EXISTS ${db}.${table} ON CLUSTER ${name} AS ${db}.${local(table)}
ENGINE = Distributed(${name}, ${db}, ${local(table)}${key ? `, ${key}` : ''})`,
      ];
    },
  };
}

/**
 * The statements of `schemaStatements` / `flowIndexStatements` grouped into waves whose
 * statements do not depend on each other: databases, then storage tables, then what reads them
 * (Distributed tables, materialized views). On a cluster each statement waits for a ZooKeeper
 * round trip and the initiator's polling of every node (~120 ms on 18.16, even for a Memory
 * table), so a wave is sent at once: `init()` takes ~3 waves instead of ~30 round trips.
 */
export function ddlWaves(statements: readonly string[]): string[][] {
  const wave = (statement: string) =>
    statement.startsWith('CREATE DATABASE') ? 0 : /^CREATE MATERIALIZED VIEW|ENGINE = Distributed\(/m.test(statement) ? 2 : 1;
  const waves: string[][] = [[], [], []];
  for (const statement of statements) waves[wave(statement)].push(statement);
  return waves.filter((statements) => statements.length > 0);
}
