/**
 * Query benchmark (`npm run bench:query`). For each size and store:
 *   1. load generated shop traffic (24 h of conversations with injected faults, see
 *      generate-flows.ts) in batches of 100k spans (whole conversations), and the flow records
 *      of the same conversations through `store.saveFlows`. DuckDB loads through
 *      `store.insertSpans`. ClickHouse loads through `ClickHouseStore.loadSpans`: the rows
 *      `insertSpans` would write (same encoder, same insert into `spans`, so the materialized
 *      views fill the lookup tables, search index and rollup as in production) without the
 *      duplicate lookup, which a fresh database of generated spans does not need; the next batch
 *      is generated while one is being inserted. Flow records come from bulk analysis: one real
 *      `analyzeConversation` per conversation shape, the others derived by id substitution and a
 *      time shift, and every 2,000th conversation analysed for real and compared);
 *   2. wait until the background work the bulk load started is done: ClickHouse's merges, DuckDB's
 *      rollup (which a live collector keeps seconds behind ingest);
 *   3. time, through the REST API (`createApp` + `inject`, no network), the median of several
 *      runs of: flow by conversation id, message by id, flows filtered by anomaly, anomalies over
 *      1 h, trends over 1 h and 24 h, storms over 1 h and 24 h, topology and coverage over 1 h.
 * Targets at the largest size: flow and message ≤ 50 ms median and ≤ 2× their time at the
 * smallest size; the list filtered by anomaly ≤ 100 ms and ≤ 1.5×; trends, storms, anomalies,
 * topology and coverage ≤ 500 ms. A query slower than 5 s is run once
 * more instead of `--runs` times. Writes bench-results/query.json.
 *
 *   npm run bench:query                                          # 100k and 1M spans, both stores
 *   npx tsx collector/bench/query.bench.ts --spans 1e6,1e7       # the 1M / 10M comparison (long:
 *                                                                # loading runs at the stores' insert rate)
 *   npx tsx collector/bench/query.bench.ts --store duckdb --runs 9
 *   npx tsx collector/bench/query.bench.ts --databases onceflow_bench_1234abcd,onceflow_bench_5678ef01
 *                                                                # measure ClickHouse databases kept with --keep
 *                                                                # again, after a code change, without loading them
 *                                                                # (`init` migrates them first; they stay)
 *
 * ClickHouse: ONCEFLOW_BENCH_CLICKHOUSE_URL (default http://127.0.0.1:8123); skipped with a
 * message when unreachable. DuckDB: a file store in a temporary directory.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { analyzeConversation } from '../src/analysis/index.js';
import { createApp } from '../src/app.js';
import { silentLogger } from '../src/logger.js';
import type { FlowRecord } from '../src/model/flow.js';
import { ClickHouseStore } from '../src/store/clickhouse/clickhouse-store.js';
import { sql, sqlDatabase } from '../src/store/clickhouse/sql-escape.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { SpanRow } from '../src/model/span.js';
import type { SpanStore } from '../src/store/span-store.js';
import { generateFlows, type GeneratedConversation } from './generate-flows.js';

const CLICKHOUSE_URL = process.env.ONCEFLOW_BENCH_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const RESULTS_FILE = fileURLToPath(new URL('../../bench-results/query.json', import.meta.url));
const HOUR = 3_600_000;
const QUIET_PERIOD_MS = 30_000;
const BATCH_SPANS = 100_000;
const VERIFY_EVERY = 2000;
const SAMPLE_SIZE = 500;
const FLOW_TARGET_MS = 50;
const AGGREGATE_TARGET_MS = 500;
const FILTERED_LIST_TARGET_MS = 100;
const FILTERED_LIST_RATIO = 1.5;
const SLOW_QUERY_MS = 5000;

const { values: flags } = parseArgs({
  options: {
    spans: { type: 'string', default: '1e5,1e6' },
    store: { type: 'string', default: 'duckdb,clickhouse' },
    runs: { type: 'string', default: '7' },
    /** Keep the ClickHouse database / DuckDB directory afterwards (printed) to look at it. */
    keep: { type: 'boolean', default: false },
    /** ClickHouse databases kept by an earlier run (`--keep`) to measure instead of loading new ones. */
    databases: { type: 'string' },
  },
});
const SIZES = flags.spans.split(',').map((text) => Math.round(Number(text)));
const STORE_KINDS = flags.store.split(',') as ('duckdb' | 'clickhouse')[];
const RUNS = Number(flags.runs);
if (SIZES.some((size) => !Number.isFinite(size) || size < 1000) || !Number.isInteger(RUNS) || RUNS < 1) {
  console.error('usage: query.bench.ts [--spans 1e6,1e7] [--store duckdb,clickhouse] [--runs 7]');
  process.exit(2);
}

type QueryName =
  'flow' | 'message' | 'flowsByAnomaly' | 'anomalies1h' | 'trends1h' | 'trends24h' | 'storms1h' | 'storms24h' | 'topology1h' | 'coverage1h';
const QUERY_LABELS: Record<QueryName, string> = {
  flow: 'flow by conversation id',
  message: 'message by id',
  flowsByAnomaly: 'flows filtered by anomaly (1 h)',
  anomalies1h: 'anomalies over 1 h',
  trends1h: 'trends over 1 h',
  trends24h: 'trends over 24 h',
  storms1h: 'storms over 1 h',
  storms24h: 'storms over 24 h',
  topology1h: 'topology over 1 h',
  coverage1h: 'coverage over 1 h',
};

interface QueryTiming {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runsMs: number[];
}

interface StoreRun {
  store: string;
  measuredAt: string;
  /** 1-minute load average when the queries ran (the machine is shared). */
  loadAverage: number;
  spans: number;
  conversations: number;
  loadSeconds: number;
  /** Spans per second of the span writes alone (flow records excluded). */
  loadSpansPerSecond: number;
  saveFlowsSeconds: number;
  derivedRecordMismatches: number;
  queries: Record<QueryName, QueryTiming>;
}

interface OpenStore {
  kind: 'duckdb' | 'clickhouse';
  store: SpanStore;
  /** Writes one batch of generated spans (whole conversations, none stored yet). */
  loadBatch: (spans: SpanRow[]) => Promise<void>;
  /** Whether the next batch is generated while this store writes the previous one. */
  pipelined: boolean;
  /** The batch being written. */
  writing: Promise<void>;
  /** Waits until the store's background work after the load is done; returns the ms waited. */
  settle: () => Promise<number>;
  loadMs: number;
  /** Of `loadMs`, the time spent saving flow records. */
  saveFlowsMs: number;
  dispose: () => Promise<void>;
}

async function openStore(kind: 'duckdb' | 'clickhouse'): Promise<OpenStore | null> {
  if (kind === 'duckdb') {
    const dir = mkdtempSync(join(tmpdir(), 'onceflow-query-bench-'));
    const store = new DuckDbStore({ dataDir: dir });
    const remove = () => (flags.keep ? console.log(`  kept DuckDB directory ${dir}`) : rmSync(dir, { recursive: true, force: true }));
    const open = await opened(kind, store, (spans) => store.insertSpans(spans), { afterClose: remove });
    // A live collector's rollup runs behind ingest by seconds; after a bulk load it is behind by
    // the whole load, and business-key lookups would scan every span stored since its watermark.
    open.settle = async () => {
      const started = performance.now();
      await store.rollUp();
      return performance.now() - started;
    };
    return open;
  }
  try {
    const ping = await fetch(`${CLICKHOUSE_URL}/ping`, { signal: AbortSignal.timeout(2000) });
    if (!ping.ok) throw new Error(`answered ${ping.status}`);
  } catch (error) {
    console.warn(`[skip] ClickHouse at ${CLICKHOUSE_URL} is not reachable (${(error as Error).message}); benchmarking without it.`);
    return null;
  }
  const store = new ClickHouseStore({ url: CLICKHOUSE_URL, database: `onceflow_bench_${randomBytes(4).toString('hex')}` });
  const keep = async () => console.log(`  kept ClickHouse database ${store.database}`);
  const open = await opened(kind, store, (spans) => store.loadSpans(spans), {
    beforeClose: flags.keep ? keep : () => store.dropDatabase(),
  });
  open.settle = () => mergesSettled(store.database);
  return open;
}

/** Initialises the store; `dispose` cleans up around closing it (drop the database, remove the files). */
async function opened(
  kind: OpenStore['kind'],
  store: SpanStore,
  loadBatch: OpenStore['loadBatch'],
  cleanUp: { beforeClose?: () => Promise<void>; afterClose?: () => void },
): Promise<OpenStore> {
  await store.init();
  const dispose = async () => {
    await cleanUp.beforeClose?.();
    await store.close();
    cleanUp.afterClose?.();
  };
  const settle = async () => 0;
  return {
    kind,
    store,
    loadBatch,
    pipelined: kind === 'clickhouse',
    writing: Promise.resolve(),
    settle,
    loadMs: 0,
    saveFlowsMs: 0,
    dispose,
  };
}

/**
 * Waits (up to 10 min) until ClickHouse has merged the parts the bulk load left: a load of
 * millions of spans in minutes leaves merges running for a while, and reads measured during
 * them are measuring the load, not the store (a live collector's merges are small).
 */
async function mergesSettled(database: string): Promise<number> {
  const started = performance.now();
  const query = `${sql`SELECT count() FROM system.merges WHERE database = ${database}`} FORMAT TSV`;
  let quietChecks = 0;
  while (quietChecks < 3 && performance.now() - started < 600_000) {
    const response = await fetch(CLICKHOUSE_URL, { method: 'POST', body: query });
    if (!response.ok) throw new Error(`ClickHouse answered ${response.status}: ${await response.text()}`);
    quietChecks = (await response.text()).trim() === '0' ? quietChecks + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return Math.max(0, performance.now() - started - 3000);
}

/**
 * Flow records for generated conversations: the first conversation of each shape is analysed
 * for real; the others are derived from it (ids substituted, times shifted). Every
 * `VERIFY_EVERY`-th conversation is also analysed for real; a mismatch is counted and the real
 * record used.
 */
function createBulkAnalysis(nowMs: number) {
  const templates = new Map<string, { record: FlowRecord; json: string; conversation: GeneratedConversation }>();
  let seen = 0;
  let mismatches = 0;
  const analyse = (c: GeneratedConversation) => analyzeConversation(c.spans, { now: nowMs, quietPeriodMs: QUIET_PERIOD_MS });
  const derive = (template: { json: string; conversation: GeneratedConversation }, c: GeneratedConversation): FlowRecord => {
    const json = template.json
      .split(template.conversation.conversationId)
      .join(c.conversationId)
      .split(template.conversation.orderId)
      .join(c.orderId)
      .split(template.conversation.idempotencyKey)
      .join(c.idempotencyKey);
    const record = JSON.parse(json) as FlowRecord;
    const shift = c.startMs - template.conversation.startMs;
    record.startMs += shift;
    record.endMs += shift;
    for (const anomaly of record.anomalies) anomaly.timeMs += shift;
    return record;
  };
  return {
    recordOf(c: GeneratedConversation): FlowRecord {
      seen += 1;
      const template = templates.get(c.shape);
      if (!template) {
        const record = analyse(c);
        templates.set(c.shape, { record, json: JSON.stringify(record), conversation: c });
        return record;
      }
      const derived = derive(template, c);
      if (seen % VERIFY_EVERY === 0) {
        const real = analyse(c);
        if (!isDeepStrictEqual(real, derived)) {
          mismatches += 1;
          return real;
        }
      }
      return derived;
    },
    mismatches: () => mismatches,
    shapes: () => templates.size,
  };
}

async function load(stores: OpenStore[], spans: number, endMs: number) {
  const analysis = createBulkAnalysis(endMs);
  const sample: string[] = [];
  let conversations = 0;
  let loaded = 0;
  let nextReport = 0;
  const started = performance.now();
  for (const batch of generateFlows({
    totalSpans: spans,
    fromMs: endMs - 24 * HOUR,
    toMs: endMs - 60_000,
    seed: 42,
    batchSpans: BATCH_SPANS,
  })) {
    const records = batch.conversations.map((c) => analysis.recordOf(c));
    for (const c of batch.conversations) {
      // Reservoir sample of conversation ids (what users look up).
      conversations += 1;
      if (sample.length < SAMPLE_SIZE) sample.push(c.conversationId);
      else if (Math.random() < SAMPLE_SIZE / conversations) sample[Math.floor(Math.random() * SAMPLE_SIZE)] = c.conversationId;
    }
    for (const open of stores) {
      await open.writing;
      open.writing = (async () => {
        const t0 = performance.now();
        await open.loadBatch(batch.spans);
        const t1 = performance.now();
        await open.store.saveFlows(records);
        open.saveFlowsMs += performance.now() - t1;
        open.loadMs += performance.now() - t0;
      })();
      // A failed write is reported when the next batch (or the end) awaits it, not as unhandled.
      open.writing.catch(() => undefined);
      if (!open.pipelined) await open.writing;
    }
    loaded += batch.spans.length;
    if (loaded >= nextReport) {
      const elapsed = (performance.now() - started) / 1000;
      process.stderr.write(
        `  loaded ${loaded.toLocaleString()} spans in ${elapsed.toFixed(0)} s (${stores.map((s) => `${s.kind} ${(s.loadMs / 1000).toFixed(0)} s, of which flow records ${(s.saveFlowsMs / 1000).toFixed(0)} s`).join('; ')})\n`,
      );
      nextReport += Math.max(BATCH_SPANS, spans / 10);
    }
  }
  for (const open of stores) await open.writing;
  return { conversations, loaded, sample, mismatches: analysis.mismatches(), shapes: analysis.shapes() };
}

async function time(app: FastifyInstance, urls: () => string, check: (body: any) => void): Promise<QueryTiming> {
  const once = async () => {
    const url = urls();
    const t0 = performance.now();
    const response = await app.inject({ method: 'GET', url });
    const ms = performance.now() - t0;
    if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}: ${response.body.slice(0, 300)}`);
    check(response.json());
    return ms;
  };
  const warmUpMs = await once();
  // A query far over every target is not repeated: one more run is enough to report it.
  const runs = warmUpMs > SLOW_QUERY_MS ? 1 : RUNS;
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) runsMs.push(await once());
  const sorted = [...runsMs].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)], minMs: sorted[0], maxMs: sorted[sorted.length - 1], runsMs };
}

async function measure(store: SpanStore, endMs: number, sample: string[]): Promise<Record<QueryName, QueryTiming>> {
  const app = await createApp({ store, logger: silentLogger(), clock: () => endMs, quietPeriodMs: QUIET_PERIOD_MS });
  let pick = 0;
  const nextConversation = () => sample[pick++ % sample.length];
  const window24h = `from=${endMs - 24 * HOUR}&to=${endMs}`;
  const nonEmpty = (field: string) => (body: any) => {
    if (!Array.isArray(body[field]) || body[field].length === 0) throw new Error(`empty ${field}`);
  };
  // Storms may rightly be none: the answer must still list episodes and learning keys.
  const judged = (body: any) => {
    if (!Array.isArray(body.storms) || !Array.isArray(body.learning)) throw new Error('storms answer without storms or learning');
  };
  try {
    return {
      flow: await time(
        app,
        () => `/api/flows/${nextConversation()}`,
        (flow) => {
          if (!flow.conversationId || flow.messages.length === 0) throw new Error('flow without messages');
        },
      ),
      message: await time(
        app,
        () => `/api/messages/${nextConversation()}-2`,
        (history) => {
          if (!history.message || history.message.deliveries.length === 0) throw new Error('message without deliveries');
        },
      ),
      flowsByAnomaly: await time(app, () => '/api/flows?anomaly=retry&limit=50', nonEmpty('flows')),
      anomalies1h: await time(app, () => '/api/anomalies?limit=200', nonEmpty('anomalies')),
      trends1h: await time(app, () => '/api/trends?by=service', nonEmpty('buckets')),
      trends24h: await time(app, () => `/api/trends?by=service&${window24h}`, nonEmpty('buckets')),
      storms1h: await time(app, () => '/api/storms', judged),
      storms24h: await time(app, () => `/api/storms?${window24h}`, judged),
      topology1h: await time(app, () => '/api/topology', nonEmpty('edges')),
      coverage1h: await time(app, () => '/api/coverage', nonEmpty('services')),
    };
  } finally {
    await app.close();
  }
}

const fmtSize = (n: number) => (n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : `${+(n / 1e3).toFixed(0)}k`);
const fmtMs = (ms: number | undefined) => (ms === undefined ? '—' : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

function printTable(store: string, runs: StoreRun[]): string[] {
  const sizes = runs.map((run) => run.spans);
  const smallest = runs[0];
  const largest = runs[runs.length - 1];
  const verdicts: string[] = [];
  const header = [
    'query',
    ...sizes.map((s) => `${fmtSize(s)} spans (ms)`),
    ...(runs.length > 1 ? [`${fmtSize(largest.spans)}/${fmtSize(smallest.spans)}`] : []),
    'target',
  ];
  const rows = (Object.keys(QUERY_LABELS) as QueryName[]).map((name) => {
    const medians = runs.map((run) => run.queries[name].medianMs);
    const ratio = runs.length > 1 ? largest.queries[name].medianMs / smallest.queries[name].medianMs : null;
    const [limit, maxRatio] =
      name === 'flow' || name === 'message'
        ? [FLOW_TARGET_MS, 2]
        : name === 'flowsByAnomaly'
          ? [FILTERED_LIST_TARGET_MS, FILTERED_LIST_RATIO]
          : [AGGREGATE_TARGET_MS, null];
    const target = `≤ ${limit} ms${maxRatio === null ? '' : `, ≤ ${maxRatio}×`}`;
    const ok = largest.queries[name].medianMs <= limit && (maxRatio === null || ratio === null || ratio <= maxRatio);
    const verdict = ok ? 'ok' : 'MISSED';
    if (!ok)
      verdicts.push(
        `${store} ${QUERY_LABELS[name]}: ${fmtMs(largest.queries[name].medianMs)} ms at ${fmtSize(largest.spans)}${ratio !== null ? `, ${ratio.toFixed(2)}×` : ''}`,
      );
    return [QUERY_LABELS[name], ...medians.map(fmtMs), ...(ratio !== null ? [`${ratio.toFixed(2)}×`] : []), `${target} ${verdict}`.trim()];
  });
  const loadRow = [
    '(load: spans/s)',
    ...runs.map((run) => (Number.isNaN(run.loadSpansPerSecond) ? '—' : Math.round(run.loadSpansPerSecond).toLocaleString())),
    ...(runs.length > 1 ? [''] : []),
    '',
  ];
  const table = [header, ...rows, loadRow];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  console.log(`\n${store} — median of ${RUNS} runs`);
  for (const [i, row] of table.entries()) {
    console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  return verdicts;
}

/**
 * Measures databases an earlier run kept, as they are (after `init`, which migrates an older
 * schema, and its merges): the generated traffic starts exactly 24 h before the run's end, so
 * the end is the earliest flow start + 24 h; the looked-up conversations are 500 of its records.
 */
async function measureKept(databases: string[]): Promise<StoreRun[]> {
  const runs: StoreRun[] = [];
  for (const database of databases) {
    const store = new ClickHouseStore({ url: CLICKHOUSE_URL, database });
    try {
      const t0 = performance.now();
      await store.init();
      console.log(`\n${database}: init (with any migration) took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const settledMs = await mergesSettled(database);
      if (settledMs > 0) console.log(`  background merges after init took ${(settledMs / 1000).toFixed(0)} s more`);
      const read = async (query: string) => {
        const response = await fetch(CLICKHOUSE_URL, { method: 'POST', body: `${query} FORMAT TSV` });
        if (!response.ok) throw new Error(`ClickHouse answered ${response.status}: ${await response.text()}`);
        return (await response.text()).trim().split('\n');
      };
      const db = sqlDatabase(database);
      const [firstStart, conversations] = (await read(`SELECT toUInt64(min(start_ms)), uniqExact(conversation_id) FROM ${db}.flows`))[0]
        .split('\t')
        .map(Number);
      const sample = await read(`SELECT conversation_id FROM ${db}.flows ORDER BY cityHash64(conversation_id) LIMIT ${SAMPLE_SIZE}`);
      const spans = await store.spanCount();
      const queries = await measure(store, firstStart + 24 * HOUR, sample);
      runs.push({
        store: 'clickhouse',
        measuredAt: new Date().toISOString(),
        loadAverage: loadavg()[0],
        spans,
        conversations,
        loadSeconds: NaN,
        loadSpansPerSecond: NaN,
        saveFlowsSeconds: NaN,
        derivedRecordMismatches: NaN,
        queries,
      });
      console.log(`  ${(Object.keys(queries) as QueryName[]).map((q) => `${q} ${fmtMs(queries[q].medianMs)} ms`).join(', ')}`);
    } finally {
      await store.close();
    }
  }
  return runs;
}

async function main() {
  const results: StoreRun[] = [];
  const endMs = Math.floor(Date.now() / 60_000) * 60_000;
  console.log(
    `query benchmark: ${flags.databases ? `kept databases ${flags.databases}` : `sizes ${SIZES.map(fmtSize).join(', ')}; stores ${STORE_KINDS.join(', ')}`}; ${RUNS} runs; ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}`,
  );
  if (flags.databases) results.push(...(await measureKept(flags.databases.split(','))));
  for (const size of flags.databases ? [] : SIZES) {
    const stores = (await Promise.all(STORE_KINDS.map(openStore))).filter((s): s is OpenStore => s !== null);
    if (stores.length === 0) break;
    try {
      console.log(`\n${fmtSize(size)} spans → ${stores.map((s) => s.kind).join(', ')}`);
      const loaded = await load(stores, size, endMs);
      console.log(
        `  ${loaded.loaded.toLocaleString()} spans, ${loaded.conversations.toLocaleString()} conversations, ${loaded.shapes} shapes, derived-record mismatches: ${loaded.mismatches}`,
      );
      for (const open of stores) {
        const settledMs = await open.settle();
        if (settledMs > 0)
          console.log(`  ${open.kind}: background work after the load (merges, rollup) took ${(settledMs / 1000).toFixed(1)} s more`);
        const queries = await measure(open.store, endMs, loaded.sample);
        results.push({
          store: open.kind,
          measuredAt: new Date().toISOString(),
          loadAverage: loadavg()[0],
          spans: loaded.loaded,
          conversations: loaded.conversations,
          loadSeconds: open.loadMs / 1000,
          loadSpansPerSecond: loaded.loaded / ((open.loadMs - open.saveFlowsMs) / 1000),
          saveFlowsSeconds: open.saveFlowsMs / 1000,
          derivedRecordMismatches: loaded.mismatches,
          queries,
        });
        console.log(
          `  ${open.kind}: ${(Object.keys(queries) as QueryName[]).map((q) => `${q} ${fmtMs(queries[q].medianMs)} ms`).join(', ')}`,
        );
      }
    } finally {
      for (const open of stores) await open.dispose();
    }
  }

  const missed: string[] = [];
  for (const kind of STORE_KINDS) {
    const runs = results.filter((run) => run.store === kind);
    if (runs.length > 0) missed.push(...printTable(kind, runs));
  }
  console.log(missed.length === 0 ? '\nall targets met' : `\ntargets missed:\n  ${missed.join('\n  ')}`);
  mkdirSync(fileURLToPath(new URL('../../bench-results/', import.meta.url)), { recursive: true });
  // Runs of other stores or sizes measured earlier stay in the file (e.g. one store at a time).
  const measured = (run: StoreRun) => results.some((r) => r.store === run.store && r.spans === run.spans);
  const previous = existsSync(RESULTS_FILE)
    ? ((JSON.parse(readFileSync(RESULTS_FILE, 'utf8')).results as StoreRun[] | undefined) ?? [])
    : [];
  const run = {
    date: new Date().toISOString(),
    cores: cpus().length,
    loadAverage: loadavg()[0],
    runs: RUNS,
    sizes: SIZES,
    stores: STORE_KINDS,
    missed,
  };
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify({ ...run, targets: { flowAndMessageMs: FLOW_TARGET_MS, flowAndMessageRatio: 2, filteredListMs: FILTERED_LIST_TARGET_MS, filteredListRatio: FILTERED_LIST_RATIO, aggregatesMs: AGGREGATE_TARGET_MS }, results: [...previous.filter((r) => !measured(r)), ...results] }, null, 2)}\n`,
  );
  console.log(`results: ${RESULTS_FILE}`);
}

await main();
