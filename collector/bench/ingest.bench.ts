/**
 * Ingest benchmark (`npm run bench:ingest`). One run measures, on the same fixed workload
 * (512 spans per request, ~10 attributes per span incl. Onceflow identity, bodies encoded once
 * up front, protobuf unless marked JSON), spans/s and server CPU time per span for:
 *   (a)  baseline    a minimal node:http server that only decodes the bodies (protobuf; JSON)
 *   (e)  ack         the collector's OTLP receiver acknowledging into its ingest log (decode,
 *                    validate, append + fsync), the store held back: the acknowledged rate
 *                    (protobuf; JSON)
 *   (b0) nostore     receiver → log → a store that does nothing, until fed (informational)
 *   (b)  duckdb      receiver → log → embedded DuckDB, until the store holds every span and the
 *                    indexer hook has been told: the sustained end-to-end rate
 *   (c)  clickhouse  the same into ClickHouse
 *   (d)  direct      ClickHouseStore.insertSpans of the same rows (decoded and converted before
 *                    timing), in batches of DIRECT_BATCH_REQUESTS requests' spans
 * Each server runs in its own process (CPU = its process.cpuUsage, DuckDB's threads included;
 * the ClickHouse server's own CPU is not counted in (c) or (d)). Scenarios run interleaved for
 * BENCH_ROUNDS rounds and the best run of each is reported. Targets: (e) ≥ 0.5 × (a) for
 * protobuf and for JSON; (b) not below 87k spans/s protobuf on an idle machine (compare with
 * (a) of the same run on a busy one); (c) ≥ 0.7 × (d). Results: bench-results/ingest.json.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { FromServer, Scenario, ToServer } from './ingest-server.js';
import { buildWorkloadBody, SPANS_PER_REQUEST, type WorkloadEncoding } from './ingest-workload.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 320);
/** Every scenario runs this many times, interleaved; the best run counts (other load on a shared machine only slows runs down). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_REQUESTS = 8;
/** Comma-separated subset of baseline,ack,nostore,duckdb,clickhouse,direct (default: all). */
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
  /** Scenario and encoding, e.g. `ack-json`. */
  key: string;
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
    // BENCH_CPU_PROF=DIR: each server process writes a V8 CPU profile of its measured window
    // there (ingest-server.ts). BENCH_SERVER_FLAGS adds Node flags to every server process (e.g. '--trace-gc').
    execArgv: [
      '--import',
      'tsx',
      // The Node flag the onceflow bin runs the collector with (see collector/bin/onceflow.js);
      // every scenario gets it, the baseline included.
      '--max-semi-space-size=64',
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

const CONTENT_TYPES: Record<WorkloadEncoding, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

function post(agent: Agent, port: number, body: Uint8Array, encoding: WorkloadEncoding): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/v1/traces',
        method: 'POST',
        headers: { 'content-type': CONTENT_TYPES[encoding], 'content-length': body.length },
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
async function sendAll(
  port: number,
  bodies: Uint8Array[],
  encoding: WorkloadEncoding,
  deadline = Infinity,
): Promise<{ sent: number; non200: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = 0;
  let non200 = 0;
  const worker = async () => {
    while (next < bodies.length && performance.now() < deadline) {
      const status = await post(agent, port, bodies[next++], encoding);
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
  key: string,
  scenario: Scenario,
  label: string,
  spans: number,
  elapsedMs: number,
  result: Extract<FromServer, { type: 'stopped' }>,
  non200: number,
): Measurement {
  const stores = scenario !== 'baseline' && scenario !== 'ack';
  return {
    key,
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

interface PlannedRun {
  key: string;
  scenario: Scenario;
  encoding: WorkloadEncoding;
  label: string;
}

async function measure(
  { key, scenario, encoding, label }: PlannedRun,
  baseMs: number,
  bodies: Uint8Array[],
  warmup: Uint8Array[],
): Promise<Measurement> {
  const child = startServer(scenario, baseMs);
  try {
    const { port } = await nextMessage(child, 'ready');
    if (scenario === 'direct') {
      const stopped = nextMessage(child, 'stopped');
      tell(child, { type: 'start' });
      const result = await stopped;
      return measurement(key, scenario, label, result.insertedSpans!, result.elapsedMs!, result, 0);
    }
    await sendAll(port, warmup, encoding);
    const started = nextMessage(child, 'started');
    tell(child, { type: 'start' });
    await started;
    const t0 = performance.now();
    const { sent, non200 } = await sendAll(port, bodies, encoding, t0 + MAX_SECONDS * 1000);
    const acknowledgedMs = performance.now() - t0;
    const spans = sent * SPANS_PER_REQUEST;
    const stopped = nextMessage(child, 'stopped');
    tell(child, { type: 'stop' });
    const result = await stopped;
    // Store scenarios count until the store held everything acknowledged (the server's clock
    // started a moment after ours, so this is never shorter than the acknowledgements).
    const elapsedMs = Math.max(acknowledgedMs, result.storedAfterMs ?? 0);
    return measurement(key, scenario, label, spans, elapsedMs, result, non200);
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
function pairedRatio(runs: Measurement[], a: string, b: string): number | null {
  const rounds = runs.filter((r) => r.key === a).map((run, i) => [run, runs.filter((r) => r.key === b)[i]] as const);
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
      `${CONCURRENCY} in flight; encoded in ${((performance.now() - t) / 1000).toFixed(1)} s; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  );

  const clickhouse = await clickhouseReachable();
  if (!clickhouse) console.log(`ClickHouse is not reachable at ${CLICKHOUSE_URL}: scenarios (c) and (d) skipped.`);
  const rowsPerInsert = DIRECT_BATCH_REQUESTS * SPANS_PER_REQUEST;
  const run = (scenario: Scenario, encoding: WorkloadEncoding, label: string): PlannedRun => ({
    key: encoding === 'json' ? `${scenario}-json` : scenario,
    scenario,
    encoding,
    label,
  });
  const plan: PlannedRun[] = [
    run('baseline', 'protobuf', '(a) node:http, decode only'),
    run('baseline', 'json', '(a) node:http, decode only, JSON'),
    run('ack', 'protobuf', '(e) collector → ingest log, acknowledged'),
    run('ack', 'json', '(e) collector → ingest log, acknowledged, JSON'),
    run('nostore', 'protobuf', '(b0) → log → no-op store (informational)'),
    run('duckdb', 'protobuf', '(b) → log → DuckDB, until stored'),
    run('clickhouse', 'protobuf', '(c) → log → ClickHouse, until stored'),
    run('direct', 'protobuf', `(d) ClickHouseStore.insertSpans, ${rowsPerInsert} rows/insert`),
  ].filter(({ scenario }) => wanted(scenario) && (clickhouse || (scenario !== 'clickhouse' && scenario !== 'direct')));
  const jsonBodies = plan.some((p) => p.encoding === 'json')
    ? {
        bodies: bodies.map((_, i) => buildWorkloadBody(i, baseMs, 'json')),
        warmup: warmup.map((_, i) => buildWorkloadBody(1_000_000 + i, baseMs, 'json')),
      }
    : null;

  const runs: Measurement[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const planned of plan) {
      const { label } = planned;
      const workload = planned.encoding === 'json' ? jsonBodies! : { bodies, warmup };
      const run = await measure(planned, baseMs, workload.bodies, workload.warmup);
      const deferred = run.deferredCpuUsPerSpan === null ? '' : ` (+ ${run.deferredCpuUsPerSpan.toFixed(2)} µs/span rolling up afterwards)`;
      console.log(
        `  round ${round}: ${label}: ${Math.round(run.spansPerSecond).toLocaleString('en')} spans/s, ${run.cpuUsPerSpan.toFixed(2)} µs CPU/span${deferred}`,
      );
      runs.push(run);
    }
  }
  // The table shows the best run of each scenario (a run that lost spans is never the best);
  // ratios pair the runs of the same round.
  const results = plan.map(
    ({ key }) =>
      runs.filter((r) => r.key === key).sort((x, y) => Number(complete(y)) - Number(complete(x)) || y.spansPerSecond - x.spansPerSecond)[0],
  );

  console.log('');
  console.log('scenario                                          spans/s   CPU µs/span   + deferred   stored   spans/insert   non-200');
  for (const r of results) {
    console.log(
      `${r.label.padEnd(48).slice(0, 48)} ${Math.round(r.spansPerSecond).toLocaleString('en').padStart(8)}   ${r.cpuUsPerSpan.toFixed(2).padStart(11)}   ${(r.deferredCpuUsPerSpan === null ? '-' : r.deferredCpuUsPerSpan.toFixed(2)).padStart(10)}   ${String(r.storedSpans ?? '-').padStart(6)}   ${(r.spansPerInsert === null ? '-' : Math.round(r.spansPerInsert).toString()).padStart(12)}   ${String(r.non200).padStart(7)}`,
    );
  }
  const by = (key: string) => results.find((r) => r.key === key);
  const ratios = {
    ackVsBaseline: pairedRatio(runs, 'ack', 'baseline'),
    ackVsBaselineJson: pairedRatio(runs, 'ack-json', 'baseline-json'),
    duckdbVsBaseline: pairedRatio(runs, 'duckdb', 'baseline'),
    noStoreVsBaseline: pairedRatio(runs, 'nostore', 'baseline'),
    clickhouseVsDirect: pairedRatio(runs, 'clickhouse', 'direct'),
  };
  const duckdb = by('duckdb');
  const atLeast = (ratio: number | null, target: number) => (ratio === null ? null : ratio >= target);
  const targets = {
    ackAtLeastHalfBaseline: atLeast(ratios.ackVsBaseline, 0.5),
    ackAtLeastHalfBaselineJson: atLeast(ratios.ackVsBaselineJson, 0.5),
    duckdbAtLeast87kIdle: duckdb ? duckdb.spansPerSecond >= 87_000 : null,
    clickhouseAtLeast70PercentOfDirect: atLeast(ratios.clickhouseVsDirect, 0.7),
  };
  const show = (ratio: number | null) => ratio?.toFixed(2) ?? 'n/a';
  console.log('');
  console.log(
    `ratios: spans/s paired within each of the ${ROUNDS} round(s), geometric mean; load average now ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`(e)/(a) protobuf: ${show(ratios.ackVsBaseline)}  JSON: ${show(ratios.ackVsBaselineJson)}  (target ≥ 0.50 each)`);
  console.log(
    `(b)/(a) protobuf: ${show(ratios.duckdbVsBaseline)}  ((b) target: not below 87,000 spans/s on an idle machine; 0.26 × (a) then)`,
  );
  console.log(`(b0)/(a): ${show(ratios.noStoreVsBaseline)}  (informational)`);
  console.log(
    `(c)/(d): ${ratios.clickhouseVsDirect === null ? 'n/a (ClickHouse absent)' : show(ratios.clickhouseVsDirect)}  (target ≥ 0.70)`,
  );
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
