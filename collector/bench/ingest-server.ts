/**
 * The server side of the ingest benchmark, run in its own process so its CPU time
 * (`process.cpuUsage`, which includes DuckDB's native threads) is measured apart from the load
 * generator. Scenario from argv[2]:
 *   baseline    node:http server that only decodes the bodies with protobufjs
 *   nostore     the collector's OTLP receiver into a store that does nothing (its own cost)
 *   duckdb      the collector's OTLP receiver into the embedded DuckDB store
 *   clickhouse  the collector's OTLP receiver into ClickHouse
 *   direct      ClickHouseStore.insertSpans of the same rows, decoded and converted beforehand
 * Protocol over IPC: → {ready, port} ← {start} → {started} ← {stop} → {stopped, cpuUs, …} ← {exit}.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOtlpReceiver } from '../src/ingest/receiver.js';
import type { OtlpReceiver } from '../src/ingest/receiver.js';
import type { SpanRow } from '../src/model/span.js';
import { convertExportRequest } from '../src/otlp/convert.js';
import { decodeProtobuf } from '../src/otlp/decode.js';
import { DEFAULT_LIMITS } from '../src/otlp/limits.js';
import { ClickHouseStore } from '../src/store/clickhouse/clickhouse-store.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { SpanStore } from '../src/store/span-store.js';
import { buildWorkloadBody } from './ingest-workload.js';

export type Scenario = 'baseline' | 'nostore' | 'duckdb' | 'clickhouse' | 'direct';

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
      decodeProtobuf(Buffer.concat(chunks));
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
}

type BenchStore = Pick<SpanStore, 'insertSpans' | 'spanCount'> & { rollUp?: () => Promise<void> };

async function openStore(): Promise<{ store: BenchStore; dispose: () => Promise<void> }> {
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
    // Batching defaults unless overridden for an experiment (BENCH_LINGER_MS, BENCH_CONCURRENT_INSERTS).
    const batching = {
      ...(process.env.BENCH_LINGER_MS ? { lingerMs: Number(process.env.BENCH_LINGER_MS) } : {}),
      ...(process.env.BENCH_CONCURRENT_INSERTS ? { maxConcurrentInserts: Number(process.env.BENCH_CONCURRENT_INSERTS) } : {}),
    };
    receiver = createOtlpReceiver({ store: opened.store, batching });
    await receiver.listen(0, '127.0.0.1');
    send({ type: 'ready', port: receiver.port() });
  }

  let cpuStart = process.cpuUsage();
  let batchesBefore = 0;
  process.on('message', async (message: ToServer) => {
    try {
      if (message.type === 'start') {
        cpuStart = process.cpuUsage();
        batchesBefore = receiver?.stats().batches ?? 0;
        if (scenario === 'direct') {
          const result = await directInserts(
            opened!.store,
            directRows,
            Number(process.env.ONCEFLOW_BENCH_DIRECT_BATCH),
            Number(process.env.ONCEFLOW_BENCH_MAX_SECONDS),
          );
          const cpu = process.cpuUsage(cpuStart);
          send({ type: 'stopped', cpuUs: cpu.user + cpu.system, storedSpans: await opened!.store.spanCount(), ...result });
          directRows = [];
        } else {
          send({ type: 'started' });
        }
      } else if (message.type === 'stop') {
        const cpu = process.cpuUsage(cpuStart);
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
        });
      } else if (message.type === 'exit') {
        await receiver?.close();
        await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
        await opened?.dispose();
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
