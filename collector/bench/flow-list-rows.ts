/**
 * Rows ClickHouse reads for the flow list filtered by anomaly kind, from `system.query_log`:
 * the kind-ordered index (`flows_by_anomaly`, what the store runs) next to the former read of
 * `flows FINAL`, on databases the query benchmark kept (`query.bench.ts --keep`).
 *
 *   npx tsx collector/bench/flow-list-rows.ts --database onceflow_bench_1234abcd[,…] [--kind retry] [--hours 1]
 *
 * The window is the last `--hours` before the newest flow end (the benchmark's "now").
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { flowCountsSql, flowPageSql } from '../src/store/clickhouse/flow-queries.js';
import { FLOW_SUMMARY_COLUMNS } from '../src/store/clickhouse/flow-queries.js';
import { sql, sqlColumns, sqlDatabase, SqlFragment } from '../src/store/clickhouse/sql-escape.js';
import { PRESENT_KINDS_SQL } from '../src/store/clickhouse/schema.js';

const RUNS = 7;
const CLICKHOUSE_URL = process.env.ONCEFLOW_BENCH_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const { values: flags } = parseArgs({
  options: { database: { type: 'string' }, kind: { type: 'string', default: 'retry' }, hours: { type: 'string', default: '1' } },
});
if (!flags.database) {
  console.error('usage: flow-list-rows.ts --database NAME[,NAME…] [--kind retry] [--hours 1]');
  process.exit(2);
}

async function run(query: string, queryId: string, settings = ''): Promise<string> {
  const response = await fetch(`${CLICKHOUSE_URL}/?query_id=${queryId}&log_queries=1${settings}`, { method: 'POST', body: query });
  const text = await response.text();
  if (!response.ok) throw new Error(`ClickHouse answered ${response.status}: ${text.slice(0, 300)}`);
  return text;
}

/** The list's two queries as the store ran them before the index: `flows FINAL` with the kind in WHERE. */
function finalScanSql(db: SqlFragment, kind: string, fromMs: number, toMs: number): [SqlFragment, SqlFragment] {
  const where = sql`start_ms >= ${fromMs} AND start_ms < ${toMs} AND has(${new SqlFragment(PRESENT_KINDS_SQL)}, ${kind})`;
  return [
    sql`SELECT ${sqlColumns(FLOW_SUMMARY_COLUMNS)} FROM ${db}.flows FINAL WHERE ${where} ORDER BY start_ms DESC, conversation_id DESC LIMIT 51`,
    sql`SELECT kind, count() AS n FROM (SELECT arrayJoin(arrayConcat([''], ${new SqlFragment(PRESENT_KINDS_SQL)})) AS kind FROM ${db}.flows FINAL WHERE ${where}) GROUP BY kind`,
  ];
}

for (const database of flags.database.split(',')) {
  const db = sqlDatabase(database);
  const [records, endMs] = (await run(`SELECT count(), max(end_ms) FROM ${db}.flows FORMAT TSV`, randomUUID()))
    .trim()
    .split('\t')
    .map(Number);
  const toMs = Math.ceil(endMs / 60_000) * 60_000;
  const fromMs = toMs - Number(flags.hours) * 3_600_000;
  const query = { fromMs, toMs, limit: 50, anomaly: flags.kind as never };
  const variants: [string, SqlFragment[]][] = [
    ['flows_by_anomaly (index)', [flowPageSql(db, query), flowCountsSql(db, query)]],
    ['flows FINAL (before)', finalScanSql(db, flags.kind, fromMs, toMs)],
  ];
  for (const [label, queries] of variants) {
    const ids: string[] = [];
    let matches = '';
    for (let repeat = 0; repeat < RUNS; repeat++) {
      for (const [i, text] of queries.entries()) {
        const id = randomUUID();
        ids.push(id);
        const rows = await run(`${text} FORMAT TSV`, id);
        if (i === 1 && repeat === 0)
          matches =
            rows
              .split('\n')
              .find((line) => line.startsWith('\t'))
              ?.split('\t')[1] ?? '0';
      }
    }
    await run('SYSTEM FLUSH LOGS', randomUUID());
    const log = await run(
      `${sql`SELECT query_id, read_rows, query_duration_ms FROM system.query_log WHERE type = 2 AND has(${ids}, query_id)`} FORMAT JSONEachRow`,
      randomUUID(),
    );
    const byId = new Map(
      log
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const row = JSON.parse(line) as { query_id: string; read_rows: string; query_duration_ms: string };
          return [row.query_id, row] as const;
        }),
    );
    const last = ids.slice(-2).map((id) => byId.get(id));
    const durations = [0, 1].map(
      (q) =>
        ids
          .filter((_, i) => i % 2 === q)
          .map((id) => Number(byId.get(id)?.query_duration_ms ?? NaN))
          .sort((a, b) => a - b)[RUNS >> 1],
    );
    console.log(
      `${database}: ${records.toLocaleString()} flow records, ${flags.hours} h window, kind ${flags.kind}: ${matches} matching flows — ${label}: ` +
        `page reads ${Number(last[0]?.read_rows).toLocaleString()} rows (${durations[0]} ms), counts ${Number(last[1]?.read_rows).toLocaleString()} rows (${durations[1]} ms); median of ${RUNS} on the server`,
    );
  }
}
