/**
 * Insert and lookup throughput of the DuckDB store (not a test; run by hand):
 *
 *   npx tsx collector/bench/duckdb-insert.bench.ts [spans=200000] [dir]
 *
 * Appends `spans` synthetic spans (~10 attributes, identity columns set, alternating sends and
 * attempts, 8 spans per conversation) into a file-backed store in batches of 512, 2048 and
 * 8192, reporting spans/s for each (each batch commits to the WAL), then times conversation,
 * message and trace fetches and one hour of trend buckets against the loaded store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { SYNTHETIC_BASE_MS as baseMs, syntheticSpan, syntheticSpans } from '../test/store/synthetic-spans.js';

const total = Number(process.argv[2] ?? 200_000);
const dir = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'onceflow-bench-'));

async function timeIt(label: string, runs: number, body: (i: number) => Promise<unknown>): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await body(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(`${label.padEnd(40)} median ${times[Math.floor(runs / 2)].toFixed(2)} ms  max ${times[runs - 1].toFixed(2)} ms`);
}

const store = new DuckDbStore(process.env.BENCH_MEMORY ? { path: ':memory:' } : { dataDir: dir });
await store.init();
let salt = 1;
for (const batch of [512, 2048, 8192]) {
  const spans = syntheticSpans(total, 0, salt);
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < spans.length; i += batch) await store.insertSpans(spans.slice(i, i + batch));
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  console.log(
    `batch ${String(batch).padStart(5)}: ${Math.round(total / seconds).toLocaleString('en')} spans/s, ` +
      `${(((used.user + used.system) / total) * 1).toFixed(1)} µs CPU/span (process)`,
  );
  salt += 1;
}
{
  const spans = syntheticSpans(512, 0, 1);
  const start = performance.now();
  for (let i = 0; i < 20; i++) await store.insertSpans(spans);
  console.log(
    `repeated 512-span batch (duplicate path): ${Math.round((20 * 512) / ((performance.now() - start) / 1000)).toLocaleString('en')} spans/s`,
  );
}
console.log(`stored: ${(await store.spanCount()).toLocaleString('en')} spans`);
const conversations = total / 8;
await timeIt('spansOfConversation', 50, (i) => store.spansOfConversation(`conv-2-${(i * 7919) % conversations}`, 10_000));
await timeIt('spansOfMessage', 50, (i) => store.spansOfMessage(`msg-2-${(i * 7919) % (total / 2)}`, 10_000));
await timeIt('spansOfTrace', 50, (i) => store.spansOfTrace(syntheticSpan(((i * 7919) % conversations) * 8, 2).traceId, 10_000));
await timeIt('findConversations (id)', 5, (i) => store.findConversations(`msg-3-${i * 101}`, 10));
const hour = { fromMs: baseMs, toMs: baseMs + 3_600_000 };
await timeIt('spanBuckets 1 h by service', 5, () => store.spanBuckets(hour, 60_000, 'service'));
await timeIt('activityBuckets 1 h', 5, () => store.activityBuckets(hour, 60_000));
await timeIt('edgeAggregates 1 h', 5, () => store.edgeAggregates(hour));
await store.close();
if (!process.argv[3]) rmSync(dir, { recursive: true, force: true });
