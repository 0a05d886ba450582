/**
 * Retention of the ClickHouse store: whole days before the cutoff's day go as partitions, the
 * rest as mutations that are waited for.
 */
import { msToNs } from '../../model/span.js';
import { waitUntil, type QueryRunner } from './clickhouse-client.js';
import { DAY_PARTITIONED, FLOW_TABLES, TABLES, type TableName } from './schema.js';
import { sql, sqlIdentifier, type SqlFragment } from './sql-escape.js';

/**
 * Whole days before the cutoff's day are dropped as partitions; the cutoff's own day is
 * trimmed with a mutation (waited for, so reads afterwards no longer see the rows).
 */
export async function deleteOlderThan(runner: QueryRunner, db: SqlFragment, database: string, cutoffMs: number): Promise<void> {
  const cutoff = Math.max(0, cutoffMs);
  const cutoffDay = new Date(cutoff).toISOString().slice(0, 10).replaceAll('-', '');
  const cutoffNs = msToNs(cutoff);
  const partitions = await runner.rows<{ table: string; partition_id: string }>(
    sql`SELECT DISTINCT table, partition_id FROM system.parts
WHERE database = ${database} AND active AND has(${[...DAY_PARTITIONED]}, table) AND partition_id < ${cutoffDay}`,
  );
  for (const { table, partition_id } of partitions) {
    await runner.command(sql`ALTER TABLE ${tableRef(db, table as TableName)} DROP PARTITION ID ${partition_id}`);
  }
  // The rollup keeps whole minutes: the cutoff's own minute stays.
  const cutoffMinute = Math.floor(cutoff / 60_000) * 60;
  for (const table of DAY_PARTITIONED) {
    const older = table === 'span_rollup' ? sql`minute < toDateTime(${cutoffMinute})` : sql`start_ns < ${cutoffNs}`;
    const [{ n }] = await runner.rows<{ n: string }>(sql`SELECT count() AS n FROM ${tableRef(db, table)} WHERE ${older}`);
    if (n !== '0') await runner.command(sql`ALTER TABLE ${tableRef(db, table)} DELETE WHERE ${older}`);
  }
  for (const table of FLOW_TABLES) {
    const [{ n }] = await runner.rows<{ n: string }>(sql`SELECT count() AS n FROM ${tableRef(db, table)} WHERE end_ms < ${cutoff}`);
    if (n !== '0') await runner.command(sql`ALTER TABLE ${tableRef(db, table)} DELETE WHERE end_ms < ${cutoff}`);
  }
  await waitForMutations(runner, database);
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
