/**
 * Insert throughput of the ClickHouse store (run: `npx tsx collector/bench/clickhouse-insert.bench.ts`).
 *
 * Compares, in one run against the same server, spans/s for:
 * - direct: `client.insert` of already-built JSONEachRow rows (the baseline: server + client cost only);
 * - store:  `ClickHouseStore.insertSpans` from SpanRows (duplicate/earliest-send lookup, row
 *           building, then the same insert);
 * for 512-span and 50,000-span batches, alternating batch by batch so both meet the same load.
 * Prints spans/s, client CPU per span and the store/direct ratio.
 * Uses a fresh database, dropped at the end. Environment: ONCEFLOW_TEST_CLICKHOUSE_URL.
 */
import { performance } from 'node:perf_hooks';
import { msToNs, type SpanRow } from '../src/model/span.js';
import { ClickHouseStore } from '../src/store/clickhouse/clickhouse-store.js';
import { QueryRunner } from '../src/store/clickhouse/clickhouse-client.js';
import { SPAN_FLAT_COLUMNS } from '../src/store/clickhouse/schema.js';
import { toInsertRow } from '../src/store/clickhouse/span-rows.js';
import { testDatabaseName } from '../test/store/test-database.js';

const CLICKHOUSE_URL = process.env.ONCEFLOW_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
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

/** Accumulates wall time and client CPU of the batches of one scenario. */
class Meter {
  private seconds = 0;
  private cpuUs = 0;
  private spans = 0;
  async measure(spans: number, run: () => Promise<void>): Promise<void> {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run();
    this.seconds += (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    this.cpuUs += cpu.user + cpu.system;
    this.spans += spans;
  }
  get rate(): number {
    return this.spans / this.seconds;
  }
  report(label: string): string {
    return `${label.padEnd(34)} ${Math.round(this.rate).toString().padStart(8)} spans/s   client CPU ${(this.cpuUs / this.spans).toFixed(1)} µs/span`;
  }
}

async function main(): Promise<void> {
  const database = testDatabaseName();
  const store = new ClickHouseStore({ url: CLICKHOUSE_URL, database });
  const runner = new QueryRunner({ url: CLICKHOUSE_URL });
  await store.init();
  console.log(`ClickHouse ${store.serverFeatures?.version} at ${CLICKHOUSE_URL}, ${TOTAL} spans per scenario\n`);
  try {
    let offset = 0;
    const make = () => {
      const base = Date.UTC(2026, 0, 1) + offset;
      const spans = Array.from({ length: TOTAL }, (_, i) => benchSpan(offset + i, base));
      offset += TOTAL;
      return spans;
    };
    const results: string[] = [];
    for (const batchSize of [512, 50_000]) {
      // Batches of the two scenarios alternate, so both see the same server load and merges.
      const prebuilt = make().map(toInsertRow);
      const storeSpans = make();
      const direct = new Meter();
      const viaStore = new Meter();
      for (let i = 0; i < TOTAL; i += batchSize) {
        const rows = prebuilt.slice(i, i + batchSize);
        await direct.measure(rows.length, () => runner.insert(`\`${database}\`.spans`, SPAN_FLAT_COLUMNS, rows));
        const spans = storeSpans.slice(i, i + batchSize);
        await viaStore.measure(spans.length, () => store.insertSpans(spans));
      }
      console.log(direct.report(`direct insert, ${batchSize}/batch`));
      console.log(viaStore.report(`store.insertSpans, ${batchSize}/batch`));
      results.push(
        `${batchSize}/batch: store ${Math.round(viaStore.rate)} / direct ${Math.round(direct.rate)} = ${(viaStore.rate / direct.rate).toFixed(2)}×`,
      );
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
