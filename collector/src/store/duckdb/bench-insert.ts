/**
 * Insert and lookup throughput of the DuckDB store (not a test; run by hand):
 *
 *   npx tsx collector/src/store/duckdb/bench-insert.ts [spans=200000] [dir]
 *
 * Appends `spans` synthetic spans (~10 attributes, identity columns set, alternating sends and
 * attempts, 8 spans per conversation) into a file-backed store in batches of 512, 2048 and
 * 8192, reporting spans/s for each (each batch commits to the WAL), then times conversation,
 * message and trace fetches and one hour of trend buckets against the loaded store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msToNs, type SpanRow } from '../../model/span.js';
import { DuckDbStore } from './duckdb-store.js';

const total = Number(process.argv[2] ?? 200_000);
const dir = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'onceflow-bench-'));
const baseMs = Date.UTC(2026, 0, 15, 10);

function hex(n: number, length: number, salt: number): string {
  return salt.toString(16).padStart(4, '0') + n.toString(16).padStart(length - 4, '0');
}

function makeSpan(k: number, salt: number): SpanRow {
  const conversation = Math.floor(k / 8);
  const isSend = k % 2 === 0;
  return {
    traceId: hex(conversation, 32, salt),
    spanId: hex(k, 16, salt),
    parentSpanId: isSend ? '' : hex(k - 1, 16, salt),
    service: isSend ? 'orders' : 'billing',
    name: isSend ? 'orders publish' : 'orders process',
    kind: isSend ? 'producer' : 'consumer',
    statusCode: 'ok',
    statusMessage: '',
    startNs: msToNs(baseMs) + BigInt(k) * 10_000n,
    durationNs: 750_000,
    messageId: `msg-${salt}-${k >> 1}`,
    conversationId: `conv-${salt}-${conversation}`,
    causationId: '',
    idempotencyKey: `order-${conversation}`,
    messageType: 'SubmitOrder',
    attempt: 1,
    outcome: isSend ? '' : 'processed',
    payloadBytes: 0,
    payloadOffloaded: false,
    payloadRef: '',
    destination: 'orders',
    operation: isSend ? 'send' : 'process',
    messagingSystem: 'rabbitmq',
    outgoingMessageIds: [],
    links: [],
    events: [],
    attributes: { 'app.order_id': `order-${conversation}`, 'net.peer.port': '5672' },
    resourceAttributes: { 'service.name': isSend ? 'orders' : 'billing', 'host.name': 'bench-1' },
  };
}

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
  const spans = Array.from({ length: total }, (_, k) => makeSpan(k, salt));
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
  const spans = Array.from({ length: 512 }, (_, k) => makeSpan(k, 1));
  const start = performance.now();
  for (let i = 0; i < 20; i++) await store.insertSpans(spans);
  console.log(`repeated 512-span batch (duplicate path): ${Math.round((20 * 512) / ((performance.now() - start) / 1000)).toLocaleString('en')} spans/s`);
}
console.log(`stored: ${(await store.spanCount()).toLocaleString('en')} spans`);
const conversations = total / 8;
await timeIt('spansOfConversation', 50, (i) => store.spansOfConversation(`conv-2-${(i * 7919) % conversations}`, 10_000));
await timeIt('spansOfMessage', 50, (i) => store.spansOfMessage(`msg-2-${(i * 7919) % (total / 2)}`, 10_000));
await timeIt('spansOfTrace', 50, (i) => store.spansOfTrace(hex((i * 7919) % conversations, 32, 2), 10_000));
await timeIt('findConversations (id)', 5, (i) => store.findConversations(`msg-3-${i * 101}`, 10));
const hour = { fromMs: baseMs, toMs: baseMs + 3_600_000 };
await timeIt('spanBuckets 1 h by service', 5, () => store.spanBuckets(hour, 60_000, 'service'));
await timeIt('activityBuckets 1 h', 5, () => store.activityBuckets(hour, 60_000));
await timeIt('edgeAggregates 1 h', 5, () => store.edgeAggregates(hour));
await store.close();
if (!process.argv[3]) rmSync(dir, { recursive: true, force: true });
