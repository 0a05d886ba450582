/**
 * Ingest benchmark (`npm run bench:ingest`). One run measures, on the same fixed workload
 * (OTLP protobuf, 512 spans per request, ~10 attributes per span incl. Onceflow identity,
 * bodies encoded once up front), spans/s and server CPU time per span for:
 *   (a) baseline    a minimal node:http server that only decodes the bodies (protobufjs)
 *   (b) duckdb      the collector's OTLP receiver into the embedded DuckDB store
 *   (b0) nostore    the same receiver into a store that does nothing: the collector's own cost
 *                   (decode, validate/convert, HTTP, batching), for reading (b) — no target
 *   (c) clickhouse  the collector's OTLP receiver into ClickHouse
 *   (d) direct      ClickHouseStore.insertSpans of the same rows (decoded and converted before
 *                   timing), in batches of DIRECT_BATCH_REQUESTS requests' spans
 * Each server runs in its own process (CPU = its process.cpuUsage, DuckDB's threads included;
 * the ClickHouse server's own CPU is not counted in (c) or (d)). Scenarios run interleaved for
 * BENCH_ROUNDS rounds and the best run of each is reported. Targets: (b) ≥ 50,000
 * spans/s and ≥ 0.5 × (a); (c) ≥ 0.7 × (d). Results: bench-results/ingest.json.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { FromServer, Scenario, ToServer } from './ingest-server.js';
import { buildWorkloadBody, SPANS_PER_REQUEST } from './ingest-workload.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 320);
/** Every scenario runs this many times, interleaved; the best run counts (other load on a shared machine only slows runs down). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_REQUESTS = 8;
/** Comma-separated subset of baseline,nostore,duckdb,clickhouse,direct (default: all). */
const ONLY = process.env.BENCH_SCENARIOS?.split(',');
const wanted = (scenario: Scenario) => !ONLY || ONLY.includes(scenario);
/** Requests in flight at once, like as many exporters sending concurrently. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
/** No scenario starts new requests (or inserts) after this many seconds; throughput counts what was done. */
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 6);
const DIRECT_BATCH_REQUESTS = CONCURRENCY;
const CLICKHOUSE_URL = process.env.ONCEFLOW_BENCH_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const RESULTS_FILE = fileURLToPath(new URL('../../bench-results/ingest.json', import.meta.url));
const SERVER_SCRIPT = fileURLToPath(new URL('./ingest-server.ts', import.meta.url));

interface Measurement {
  scenario: Scenario;
  label: string;
  spans: number;
  elapsedMs: number;
  spansPerSecond: number;
  cpuUsPerSpan: number;
  /** CPU per span of the store's work deferred past the acknowledgements (DuckDB's rollup), done at stop; null when none. */
  deferredCpuUsPerSpan: number | null;
  storedSpans: number | null;
  /** Average spans per store insert (null for the baseline, which stores nothing). */
  spansPerInsert: number | null;
  non200: number;
}

function startServer(scenario: Scenario, baseMs: number): ChildProcess {
  return fork(SERVER_SCRIPT, [scenario], {
    // BENCH_CPU_PROF=DIR writes a V8 CPU profile of each server process there.
    // BENCH_SERVER_FLAGS adds Node flags to every server process (e.g. '--trace-gc').
    execArgv: [
      '--import',
      'tsx',
      // The Node flag the onceflow bin runs the collector with (see collector/bin/onceflow.js);
      // every scenario gets it, the baseline included.
      '--max-semi-space-size=64',
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      ...(process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []),
    ],
    env: {
      ...process.env,
      ONCEFLOW_BENCH_CLICKHOUSE_URL: CLICKHOUSE_URL,
      ONCEFLOW_BENCH_BASE_MS: String(baseMs),
      ONCEFLOW_BENCH_REQUESTS: String(REQUESTS),
      ONCEFLOW_BENCH_DIRECT_BATCH: String(DIRECT_BATCH_REQUESTS),
      ONCEFLOW_BENCH_MAX_SECONDS: String(MAX_SECONDS),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function nextMessage<T extends FromServer['type']>(child: ChildProcess, type: T): Promise<Extract<FromServer, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromServer) => {
      if (message.type === 'error') {
        child.off('message', onMessage);
        reject(new Error(message.message));
      } else if (message.type === type) {
        child.off('message', onMessage);
        resolve(message as Extract<FromServer, { type: T }>);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`benchmark server exited with ${code}`)));
  });
}

const tell = (child: ChildProcess, message: ToServer) => child.send(message);

function post(agent: Agent, port: number, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/v1/traces',
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends the bodies with CONCURRENCY requests in flight, starting no new request after
 * `deadline` (performance.now() ms); returns how many were sent and how many were not 200.
 */
async function sendAll(port: number, bodies: Uint8Array[], deadline = Infinity): Promise<{ sent: number; non200: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = 0;
  let non200 = 0;
  const worker = async () => {
    while (next < bodies.length && performance.now() < deadline) {
      const status = await post(agent, port, bodies[next++]);
      if (status !== 200) {
        non200++;
        if (non200 === 1) console.log(`first non-200 answer: ${status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return { sent: next, non200 };
}

/** What the server reported for `spans` spans done in `elapsedMs`, per span and per second. */
function measurement(
  scenario: Scenario,
  label: string,
  spans: number,
  elapsedMs: number,
  result: Extract<FromServer, { type: 'stopped' }>,
  non200: number,
): Measurement {
  const stores = scenario !== 'baseline';
  return {
    scenario,
    label,
    spans,
    elapsedMs,
    spansPerSecond: (spans / elapsedMs) * 1000,
    cpuUsPerSpan: result.cpuUs / spans,
    deferredCpuUsPerSpan: result.deferredCpuUs === undefined ? null : result.deferredCpuUs / spans,
    storedSpans: stores ? result.storedSpans : null,
    spansPerInsert: stores ? spans / result.batches : null,
    non200,
  };
}

async function measure(scenario: Scenario, label: string, baseMs: number, bodies: Uint8Array[], warmup: Uint8Array[]): Promise<Measurement> {
  const child = startServer(scenario, baseMs);
  try {
    const { port } = await nextMessage(child, 'ready');
    if (scenario === 'direct') {
      const stopped = nextMessage(child, 'stopped');
      tell(child, { type: 'start' });
      const result = await stopped;
      return measurement(scenario, label, result.insertedSpans!, result.elapsedMs!, result, 0);
    }
    await sendAll(port, warmup);
    const started = nextMessage(child, 'started');
    tell(child, { type: 'start' });
    await started;
    const t0 = performance.now();
    const { sent, non200 } = await sendAll(port, bodies, t0 + MAX_SECONDS * 1000);
    const elapsedMs = performance.now() - t0;
    const spans = sent * SPANS_PER_REQUEST;
    const stopped = nextMessage(child, 'stopped');
    tell(child, { type: 'stop' });
    const result = await stopped;
    return measurement(scenario, label, spans, elapsedMs, result, non200);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    tell(child, { type: 'exit' });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    if (child.exitCode === null) child.kill();
  }
}

async function clickhouseReachable(): Promise<boolean> {
  try {
    return (await fetch(`${CLICKHOUSE_URL}/ping`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

function complete(run: Measurement): boolean {
  return run.non200 === 0 && (run.storedSpans === null || run.storedSpans >= run.spans);
}

/**
 * spans/s of `a` over `b`, paired within each round (the two ran minutes apart at most, under
 * the same outside load), as the geometric mean over rounds; null when either is missing.
 */
function pairedRatio(runs: Measurement[], a: Scenario, b: Scenario): number | null {
  const rounds = runs.filter((r) => r.scenario === a).map((run, i) => [run, runs.filter((r) => r.scenario === b)[i]] as const);
  const ratios = rounds.filter(([x, y]) => x && y && complete(x) && complete(y)).map(([x, y]) => x.spansPerSecond / y!.spansPerSecond);
  if (ratios.length === 0) return null;
  return Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
}

async function main(): Promise<void> {
  const baseMs = Date.now() - 60_000;
  const t = performance.now();
  const bodies = Array.from({ length: REQUESTS }, (_, i) => buildWorkloadBody(i, baseMs));
  const warmup = Array.from({ length: WARMUP_REQUESTS }, (_, i) => buildWorkloadBody(1_000_000 + i, baseMs));
  const bytes = bodies.reduce((sum, body) => sum + body.length, 0);
  console.log(
    `workload: ${REQUESTS} requests × ${SPANS_PER_REQUEST} spans (${(bytes / REQUESTS / 1024).toFixed(0)} KiB each), ` +
      `${CONCURRENCY} in flight; encoded in ${((performance.now() - t) / 1000).toFixed(1)} s; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );

  const clickhouse = await clickhouseReachable();
  if (!clickhouse) console.log(`ClickHouse is not reachable at ${CLICKHOUSE_URL}: scenarios (c) and (d) skipped.`);
  const rowsPerInsert = DIRECT_BATCH_REQUESTS * SPANS_PER_REQUEST;
  const plan: [Scenario, string][] = (
    [
      ['baseline', '(a) node:http, decode only'],
      ['nostore', '(b0) collector → no-op store (informational)'],
      ['duckdb', '(b) collector → DuckDB'],
      ['clickhouse', '(c) collector → ClickHouse'],
      ['direct', `(d) ClickHouseStore.insertSpans, ${rowsPerInsert} rows/insert`],
    ] as [Scenario, string][]
  ).filter(([scenario]) => wanted(scenario) && (clickhouse || (scenario !== 'clickhouse' && scenario !== 'direct')));

  const runs: Measurement[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [scenario, label] of plan) {
      const run = await measure(scenario, label, baseMs, bodies, warmup);
      const deferred = run.deferredCpuUsPerSpan === null ? '' : ` (+ ${run.deferredCpuUsPerSpan.toFixed(2)} µs/span rolling up afterwards)`;
      console.log(
        `  round ${round}: ${label}: ${Math.round(run.spansPerSecond).toLocaleString('en')} spans/s, ${run.cpuUsPerSpan.toFixed(2)} µs CPU/span${deferred}`,
      );
      runs.push(run);
    }
  }
  // The table shows the best run of each scenario (a run that lost spans is never the best);
  // ratios pair the runs of the same round.
  const results = plan.map(([scenario]) =>
    runs
      .filter((r) => r.scenario === scenario)
      .sort((x, y) => Number(complete(y)) - Number(complete(x)) || y.spansPerSecond - x.spansPerSecond)[0],
  );

  console.log('');
  console.log('scenario                                          spans/s   CPU µs/span   + deferred   stored   spans/insert   non-200');
  for (const r of results) {
    console.log(
      `${r.label.padEnd(48)} ${Math.round(r.spansPerSecond).toLocaleString('en').padStart(8)}   ${r.cpuUsPerSpan.toFixed(2).padStart(11)}   ${(r.deferredCpuUsPerSpan === null ? '-' : r.deferredCpuUsPerSpan.toFixed(2)).padStart(10)}   ${String(r.storedSpans ?? '-').padStart(6)}   ${(r.spansPerInsert === null ? '-' : Math.round(r.spansPerInsert).toString()).padStart(12)}   ${String(r.non200).padStart(7)}`,
    );
  }
  const by = (s: Scenario) => results.find((r) => r.scenario === s);
  const ratios = {
    duckdbVsBaseline: pairedRatio(runs, 'duckdb', 'baseline'),
    noStoreVsBaseline: pairedRatio(runs, 'nostore', 'baseline'),
    clickhouseVsDirect: pairedRatio(runs, 'clickhouse', 'direct'),
  };
  const duckdb = by('duckdb');
  console.log('');
  console.log(`ratios: spans/s paired within each of the ${ROUNDS} round(s), geometric mean`);
  const targets = {
    duckdbAtLeast50k: duckdb ? duckdb.spansPerSecond >= 50_000 : null,
    duckdbAtLeastHalfBaseline: ratios.duckdbVsBaseline === null ? null : ratios.duckdbVsBaseline >= 0.5,
    clickhouseAtLeast70PercentOfDirect: ratios.clickhouseVsDirect === null ? null : ratios.clickhouseVsDirect >= 0.7,
  };
  console.log('');
  console.log(`(b)/(a) spans/s: ${ratios.duckdbVsBaseline?.toFixed(2) ?? 'n/a'}  (target ≥ 0.50; (b) target ≥ 50,000 spans/s)`);
  console.log(`(b0)/(a) spans/s: ${ratios.noStoreVsBaseline?.toFixed(2) ?? 'n/a'}  (informational: the receiver without a store)`);
  console.log(`(c)/(d) spans/s: ${ratios.clickhouseVsDirect?.toFixed(2) ?? 'n/a (ClickHouse absent)'}  (target ≥ 0.70)`);
  console.log(`targets met: ${JSON.stringify(targets)}`);
  const incomplete = runs.filter((r) => !complete(r));
  if (incomplete.length > 0) console.log(`WARNING: not every span was accepted/stored in: ${incomplete.map((r) => r.scenario).join(', ')}`);

  mkdirSync(fileURLToPath(new URL('../../bench-results/', import.meta.url)), { recursive: true });
  writeFileSync(
    RESULTS_FILE,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        loadAverage: loadavg(),
        workload: { requests: REQUESTS, spansPerRequest: SPANS_PER_REQUEST, concurrency: CONCURRENCY, rounds: ROUNDS },
        results,
        ratios,
        targets,
        runs,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`written to ${RESULTS_FILE}`);
}

await main();
