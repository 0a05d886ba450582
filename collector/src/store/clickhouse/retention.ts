/**
 * Retention of the ClickHouse store: whole days before the cutoff's day go as partitions, the
 * rest as mutations that are waited for.
 *
 * On a cluster (`cluster-ddl.ts`) the partitions and mutations apply to the `_local` tables
 * ON CLUSTER (a Distributed table has neither), the days come from the rows (a node's
 * `system.parts` and `system.mutations` only know its own shard), and the wait is for the
 * Distributed tables to stop returning the deleted rows.
 */
import { msToNs } from '../../model/span.js';
import { waitUntil, type QueryRunner } from './clickhouse-client.js';
import { SINGLE_SERVER, type TableLayout } from './cluster-ddl.js';
import { DAY_PARTITIONED, FLOW_TABLES, TABLES, type TableName } from './schema.js';
import { SqlFragment, sql, sqlIdentifier } from './sql-escape.js';

/**
 * Whole days before the cutoff's day are dropped as partitions; the cutoff's own day is
 * trimmed with a mutation (waited for, so reads afterwards no longer see the rows).
 */
export async function deleteOlderThan(
  runner: QueryRunner,
  db: SqlFragment,
  database: string,
  cutoffMs: number,
  layout: TableLayout = SINGLE_SERVER,
): Promise<void> {
  const cutoff = Math.max(0, cutoffMs);
  const cutoffDay = new Date(cutoff).toISOString().slice(0, 10).replaceAll('-', '');
  const cutoffNs = msToNs(cutoff);
  const onCluster = new SqlFragment(layout.onCluster);
  const storage = (table: TableName) => sql`${db}.${new SqlFragment(layout.storage(table))}`;
  const partitions = layout === SINGLE_SERVER ? await localPartitions(runner, database, cutoffDay) : await rowDays(runner, db, cutoffDay);
  for (const { table, partition_id } of partitions) {
    await runner.command(sql`ALTER TABLE ${storage(table as TableName)}${onCluster} DROP PARTITION ID ${partition_id}`);
  }
  // The rollup keeps whole minutes: the cutoff's own minute stays.
  const cutoffMinute = Math.floor(cutoff / 60_000) * 60;
  const deletions: [TableName, SqlFragment][] = [
    ...DAY_PARTITIONED.map((table): [TableName, SqlFragment] => [
      table,
      table === 'span_rollup' ? sql`minute < toDateTime(${cutoffMinute})` : sql`start_ns < ${cutoffNs}`,
    ]),
    ...FLOW_TABLES.map((table): [TableName, SqlFragment] => [table, sql`end_ms < ${cutoff}`]),
  ];
  const remaining = async (table: TableName, older: SqlFragment) => {
    const [{ n }] = await runner.rows<{ n: string }>(sql`SELECT count() AS n FROM ${tableRef(db, table)} WHERE ${older}`);
    return n !== '0';
  };
  for (const [table, older] of deletions) {
    if (await remaining(table, older)) await runner.command(sql`ALTER TABLE ${storage(table)}${onCluster} DELETE WHERE ${older}`);
  }
  if (layout === SINGLE_SERVER) return waitForMutations(runner, database);
  for (const [table, older] of deletions)
    await waitUntil(async () => !(await remaining(table, older)), `rows of ${table} are still being deleted`);
}

/** Partitions of the day-partitioned tables before the cutoff's day, from the server's parts. */
function localPartitions(runner: QueryRunner, database: string, cutoffDay: string) {
  return runner.rows<{ table: string; partition_id: string }>(
    sql`SELECT DISTINCT table, partition_id FROM system.parts
WHERE database = ${database} AND active AND has(${[...DAY_PARTITIONED]}, table) AND partition_id < ${cutoffDay}`,
  );
}

/**
 * The same from the rows, read through the Distributed tables: the days before the cutoff's day
 * that hold spans or rollup minutes (every day-partitioned table is derived from `spans`).
 */
async function rowDays(runner: QueryRunner, db: SqlFragment, cutoffDay: string) {
  // Both tables are ordered by time first: the condition prunes to the old days' granules.
  const dayStart = sql`toDateTime(${Date.UTC(+cutoffDay.slice(0, 4), +cutoffDay.slice(4, 6) - 1, +cutoffDay.slice(6)) / 1000})`;
  const days = await runner.rows<{ day: string }>(
    sql`SELECT DISTINCT toString(toYYYYMMDD(ts)) AS day FROM ${db}.spans WHERE ts < ${dayStart}
UNION ALL
SELECT DISTINCT toString(toYYYYMMDD(minute)) AS day FROM ${db}.span_rollup WHERE minute < ${dayStart}`,
  );
  const unique = [...new Set(days.map((row) => row.day))];
  return DAY_PARTITIONED.flatMap((table) => unique.map((day) => ({ table: table as string, partition_id: day })));
}

function waitForMutations(runner: QueryRunner, database: string): Promise<void> {
  return waitUntil(async () => {
    const [{ n }] = await runner.rows<{ n: string }>(
      sql`SELECT count() AS n FROM system.mutations WHERE database = ${database} AND is_done = 0`,
    );
    return n === '0';
  }, `mutations in ${database} are still running`);
}

function tableRef(db: SqlFragment, table: TableName): SqlFragment {
  return sql`${db}.${sqlIdentifier(table, TABLES)}`;
}
