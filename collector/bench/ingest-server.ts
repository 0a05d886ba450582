/**
 * The server side of the ingest benchmark, run in its own process so its CPU time
 * (`process.cpuUsage`, which includes DuckDB's native threads) is measured apart from the load
 * generator. Scenario from argv[2]:
 *   baseline    node:http server that only decodes the bodies (protobufjs, or JSON.parse + the collector's JSON mapping)
 *   ack         the collector's OTLP receiver into its ingest log, the store held back until
 *               the load ends: what acknowledging costs (decode, validate, log append + fsync)
 *   nostore     receiver → log → a store that does nothing (the collector's own cost)
 *   duckdb      receiver → log → the embedded DuckDB store
 *   clickhouse  receiver → log → ClickHouse
 *   direct      ClickHouseStore.insertSpans of the same rows, decoded and converted beforehand
 * Every receiver scenario writes its ingest log to a temporary directory. On `stop` the store
 * scenarios first wait until the store holds every acknowledged span (end to end), and report
 * when that was. Protocol over IPC: → {ready, port} ← {start} → {started} ← {stop}
 * → {stopped, cpuUs, …} ← {exit}. With BENCH_CPU_PROF=DIR the process writes a V8 CPU profile
 * of the measured window (from `start` to `stop`, before the held-back store is released) to
 * DIR/<scenario>-<pid>.cpuprofile: start-up, warm-up and the feeding afterwards are left out.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIngestLog } from '../src/ingest/log/ingest-log.js';
import { createOtlpReceiver } from '../src/ingest/receiver.js';
import type { OtlpReceiver } from '../src/ingest/receiver.js';
import type { SpanRow } from '../src/model/span.js';
import { convertExportRequest } from '../src/otlp/convert.js';
import { decodeExportRequest, decodeProtobuf } from '../src/otlp/decode.js';
import { DEFAULT_LIMITS } from '../src/otlp/limits.js';
import { ClickHouseStore } from '../src/store/clickhouse/clickhouse-store.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { SpanStore } from '../src/store/span-store.js';
import { buildWorkloadBody } from './ingest-workload.js';

export type Scenario = 'baseline' | 'ack' | 'nostore' | 'duckdb' | 'clickhouse' | 'direct';

export type ToServer = { type: 'start' } | { type: 'stop' } | { type: 'exit' };
export type FromServer =
  | { type: 'ready'; port: number }
  | { type: 'started' }
  | {
      type: 'stopped';
      cpuUs: number;
      storedSpans: number;
      batches: number;
      elapsedMs?: number;
      /** ms from `start` until the store held every acknowledged span (store scenarios). */
      storedAfterMs?: number;
      insertedSpans?: number;
      /** CPU of the work the store deferred past the acknowledgements (DuckDB's rollup), done at stop. */
      deferredCpuUs?: number;
    }
  | { type: 'error'; message: string };

const scenario = process.argv[2] as Scenario;
const clickhouseUrl = process.env.ONCEFLOW_BENCH_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const send = (message: FromServer) => process.send!(message);

function baselineServer(): Server {
  return createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const json = request.headers['content-type'] === 'application/json';
      decodeExportRequest(Buffer.concat(chunks), json ? 'json' : 'protobuf', DEFAULT_LIMITS);
      response.writeHead(200, { 'content-type': request.headers['content-type'] }).end();
    });
  });
}

type BenchStore = Pick<SpanStore, 'insertSpans' | 'spanCount'> & { rollUp?: () => Promise<void> };

/** Holds every insert until `release` (the `ack` scenario): the log alone absorbs the load. */
let release: () => void = () => undefined;
const released = new Promise<void>((resolve) => (release = resolve));

async function openStore(): Promise<{ store: BenchStore; dispose: () => Promise<void> }> {
  if (scenario === 'ack') {
    return {
      store: { insertSpans: () => released, spanCount: async () => 0 },
      dispose: async () => undefined,
    };
  }
  if (scenario === 'nostore') {
    let count = 0;
    return {
      store: {
        insertSpans: async (spans) => void (count += spans.length),
        spanCount: async () => count,
      },
      dispose: async () => undefined,
    };
  }
  if (scenario === 'duckdb') {
    const dir = mkdtempSync(join(tmpdir(), 'onceflow-bench-'));
    const store = new DuckDbStore({ dataDir: dir });
    await store.init();
    return {
      store,
      dispose: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const store = new ClickHouseStore({ url: clickhouseUrl, database: `onceflow_bench_${process.pid}_${scenario}` });
  await store.init();
  return {
    store,
    dispose: async () => {
      await store.dropDatabase();
      await store.close();
    },
  };
}

/** Profiles the measured window when BENCH_CPU_PROF names a directory; `stop` writes the profile. */
async function startProfiling(): Promise<{ stop: () => Promise<void> }> {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return { stop: async () => undefined };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${scenario}-${process.pid}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** (d): the rows the collector would produce, inserted straight through the store. */
async function directInserts(store: Pick<SpanStore, 'insertSpans'>, rows: SpanRow[][], batchRequests: number, maxSeconds: number) {
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  let inserted = 0;
  let batches = 0;
  for (let i = 0; i < rows.length && performance.now() < deadline; i += batchRequests) {
    batches++;
    const batch = rows.slice(i, i + batchRequests).flat();
    await store.insertSpans(batch);
    inserted += batch.length;
  }
  return { elapsedMs: performance.now() - started, insertedSpans: inserted, batches };
}

async function main(): Promise<void> {
  let server: Server | null = null;
  let logDir: string | null = null;
  let receiver: OtlpReceiver | null = null;
  let opened: Awaited<ReturnType<typeof openStore>> | null = null;
  let directRows: SpanRow[][] = [];

  if (scenario === 'baseline') {
    server = baselineServer();
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    send({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
  } else if (scenario === 'direct') {
    opened = await openStore();
    const baseMs = Number(process.env.ONCEFLOW_BENCH_BASE_MS);
    const requests = Number(process.env.ONCEFLOW_BENCH_REQUESTS);
    for (let i = 0; i < requests; i++) {
      directRows.push(convertExportRequest(decodeProtobuf(buildWorkloadBody(i, baseMs)), DEFAULT_LIMITS, Date.now()).spans);
    }
    send({ type: 'ready', port: 0 });
  } else {
    opened = await openStore();
    // Feeding defaults unless overridden for an experiment (BENCH_CONCURRENT_INSERTS).
    const feeding = process.env.BENCH_CONCURRENT_INSERTS ? { maxConcurrentInserts: Number(process.env.BENCH_CONCURRENT_INSERTS) } : {};
    logDir = mkdtempSync(join(tmpdir(), 'onceflow-bench-log-'));
    const log = await openIngestLog({ dir: logDir, spoolMaxBytes: 8 * 1024 ** 3, maxPayloadBytes: DEFAULT_LIMITS.maxBodyBytes });
    receiver = createOtlpReceiver({ store: opened.store, log, feeding });
    await receiver.listen(0, '127.0.0.1');
    send({ type: 'ready', port: receiver.port() });
  }

  let cpuStart = process.cpuUsage();
  let startedAt = performance.now();
  let batchesBefore = 0;
  let profiling = { stop: async () => undefined as void };
  process.on('message', async (message: ToServer) => {
    try {
      if (message.type === 'start') {
        profiling = await startProfiling();
        cpuStart = process.cpuUsage();
        startedAt = performance.now();
        batchesBefore = receiver?.stats().batches ?? 0;
        if (scenario === 'direct') {
          const result = await directInserts(
            opened!.store,
            directRows,
            Number(process.env.ONCEFLOW_BENCH_DIRECT_BATCH),
            Number(process.env.ONCEFLOW_BENCH_MAX_SECONDS),
          );
          const cpu = process.cpuUsage(cpuStart);
          await profiling.stop();
          send({ type: 'stopped', cpuUs: cpu.user + cpu.system, storedSpans: await opened!.store.spanCount(), ...result });
          directRows = [];
        } else {
          send({ type: 'started' });
        }
      } else if (message.type === 'stop') {
        let storedAfterMs: number | undefined;
        if (receiver && scenario !== 'ack') {
          await receiver.whenStored();
          storedAfterMs = performance.now() - startedAt;
        }
        const cpu = process.cpuUsage(cpuStart);
        await profiling.stop();
        release();
        let deferredCpuUs: number | undefined;
        if (opened?.store.rollUp) {
          const before = process.cpuUsage();
          await opened.store.rollUp();
          const deferred = process.cpuUsage(before);
          deferredCpuUs = deferred.user + deferred.system;
        }
        const storedSpans = opened ? await opened.store.spanCount() : 0;
        send({
          type: 'stopped',
          cpuUs: cpu.user + cpu.system,
          storedSpans,
          batches: (receiver?.stats().batches ?? 0) - batchesBefore,
          deferredCpuUs,
          storedAfterMs,
        });
      } else if (message.type === 'exit') {
        await receiver?.close();
        await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
        await opened?.dispose();
        if (logDir) rmSync(logDir, { recursive: true, force: true });
        process.exit(0);
      }
    } catch (error) {
      send({ type: 'error', message: (error as Error).stack ?? String(error) });
    }
  });
}

main().catch((error: unknown) => {
  send({ type: 'error', message: (error as Error).stack ?? String(error) });
  process.exit(1);
});
