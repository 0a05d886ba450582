/**
 * Insert throughput of the ClickHouse store (run: `npx tsx collector/src/store/clickhouse/insert-bench.ts`).
 *
 * Compares, in one run against the same server, spans/s for:
 * - direct: `client.insert` of already-built JSONEachRow rows (the baseline: server + client cost only);
 * - store:  `ClickHouseStore.insertSpans` from SpanRows (row building + the same insert);
 * for 512-span and 50,000-span batches. Prints a table with the store/direct ratio.
 * Uses a fresh database, dropped at the end. Environment: ONCEFLOW_TEST_CLICKHOUSE_URL.
 */
import { performance } from 'node:perf_hooks';
const CLICKHOUSE_URL = process.env.ONCEFLOW_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
import { msToNs, type SpanRow } from '../../model/span.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { QueryRunner } from './clickhouse-client.js';
import { SPAN_FLAT_COLUMNS } from './schema.js';
import { toInsertRow } from './span-rows.js';
import { testDatabaseName } from './test-database.js';

const TOTAL = Number(process.env.BENCH_SPANS ?? 200_000);
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** A realistic messaging span: Onceflow identity plus ~10 attributes. */
function benchSpan(i: number, baseMs: number): SpanRow {
  const message = Math.floor(i / 3);
  const consumer = i % 3 !== 0;
  return {
    traceId: hex(Math.floor(i / 6) + 1, 32),
    spanId: hex(i + 1, 16),
    parentSpanId: consumer ? hex(i, 16) : '',
    service: consumer ? 'billing' : 'orders',
    name: consumer ? 'billing process' : 'billing send',
    kind: consumer ? 'consumer' : 'producer',
    statusCode: 'unset',
    statusMessage: '',
    startNs: msToNs(baseMs + i * 0.25),
    durationNs: 1_500_000 + (i % 1000) * 1000,
    messageId: `msg-${message}`,
    conversationId: `conv-${Math.floor(i / 30)}`,
    causationId: `msg-${message - 1}`,
    idempotencyKey: `order-${Math.floor(i / 30)}`,
    messageType: 'OrderBilled',
    attempt: consumer ? 1 : 0,
    outcome: consumer ? 'processed' : '',
    payloadBytes: 512,
    payloadOffloaded: false,
    payloadRef: '',
    destination: 'billing',
    operation: consumer ? 'process' : 'send',
    messagingSystem: 'rabbitmq',
    outgoingMessageIds: [],
    links: [],
    events: [],
    attributes: {
      'onceflow.business_key': `order-${Math.floor(i / 30)}`,
      'messaging.rabbitmq.destination.routing_key': 'billing',
      'messaging.message.body.size': '512',
      'net.peer.name': 'rabbitmq',
      'server.port': '5672',
    },
    resourceAttributes: { 'service.name': consumer ? 'billing' : 'orders', 'host.name': 'bench', 'process.pid': '42' },
  };
}

async function timed(label: string, spans: number, run: () => Promise<void>): Promise<number> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rate = spans / seconds;
  const cpuUsPerSpan = (cpu.user + cpu.system) / spans;
  console.log(`${label.padEnd(34)} ${Math.round(rate).toString().padStart(8)} spans/s   client CPU ${cpuUsPerSpan.toFixed(1)} µs/span`);
  return rate;
}

async function main(): Promise<void> {
  const database = testDatabaseName();
  const store = new ClickHouseStore({ url: CLICKHOUSE_URL, database });
  const runner = new QueryRunner({ url: CLICKHOUSE_URL });
  await store.init();
  console.log(`ClickHouse ${store.serverFeatures?.version} at ${CLICKHOUSE_URL}, ${TOTAL} spans per scenario\n`);
  try {
    let offset = 0;
    const results: string[] = [];
    for (const batchSize of [512, 50_000]) {
      const make = () => {
        const base = Date.UTC(2026, 0, 1) + offset;
        const spans = Array.from({ length: TOTAL }, (_, i) => benchSpan(offset + i, base));
        offset += TOTAL;
        return spans;
      };
      const directSpans = make();
      const prebuilt = directSpans.map(toInsertRow);
      const direct = await timed(`direct insert, ${batchSize}/batch`, TOTAL, async () => {
        for (let i = 0; i < prebuilt.length; i += batchSize) {
          await runner.insert(`\`${database}\`.spans`, SPAN_FLAT_COLUMNS, prebuilt.slice(i, i + batchSize));
        }
      });
      const storeSpans = make();
      const viaStore = await timed(`store.insertSpans, ${batchSize}/batch`, TOTAL, async () => {
        for (let i = 0; i < storeSpans.length; i += batchSize) await store.insertSpans(storeSpans.slice(i, i + batchSize));
      });
      results.push(`${batchSize}/batch: store ${Math.round(viaStore)} / direct ${Math.round(direct)} = ${(viaStore / direct).toFixed(2)}×`);
    }
    console.log(`\n${results.join('\n')}`);
    console.log(`rows stored (deduplicated): ${await store.spanCount()}`);
  } finally {
    await store.dropDatabase();
    await store.close();
    await runner.close();
  }
}

await main();
