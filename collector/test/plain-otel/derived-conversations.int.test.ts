/**
 * Conversations derived for spans that carry none, through a store and the API, with the export
 * batches arriving in either order — on the DuckDB store and (when the server is reachable;
 * required in CI) the ClickHouse store:
 *
 * 1. instrumentation-amqplib with useLinksForConsume (fixture `amqplib-links.otlp.json`):
 *      billing-node ─ publish invoice-77 ··link··> invoicing-node #1 nack+requeue, #2 redelivered
 *    one flow `trace:<producer trace>`, found by message id, trace id and attribute value.
 * 2. a producer with a conversation id, a plain consumer without one:
 *      shop (conversation conv-mixed) ─ publish order-1 ─> plain-billing (parented, no conversation)
 *    the consumer is stored under `trace:<trace>`; conv-mixed still sees the delivery (not lost).
 * 3. NServiceBus's handler activity, which carries no conversation, between an attempt and its
 *    publish: read from the trace when the flow is read, so the publish has its attempt.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createFlowIndexer } from '../../src/indexer/flow-indexer.js';
import { silentLogger } from '../../src/logger.js';
import type { Flow, FlowSummary } from '../../src/model/flow.js';
import type { SpanRow } from '../../src/model/span.js';
import { convertExportRequest, decodeJson, DEFAULT_LIMITS } from '../../src/otlp/index.js';
import { buildJsonRequest, hexId, type SpanSpec } from '../../src/otlp/request-builder.js';
import type { OtlpExportRequest } from '../../src/otlp/types.js';
import { indexedApp, storesUnderTest, type IndexedApp } from '../api-stores.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const NOW = T0 + 3_600_000;
const QUIET = 60_000;

const convert = (body: Buffer) => {
  const result = convertExportRequest(decodeJson(body, DEFAULT_LIMITS), DEFAULT_LIMITS, NOW);
  expect(result.reasons).toEqual([]);
  return result.spans;
};

// ---- 1: the amqplib fixture, split into the producer's and the consumer's batch --------------
const linksFixture = JSON.parse(
  readFileSync(new URL('../fixtures/frameworks/amqplib-links.otlp.json', import.meta.url), 'utf8'),
) as OtlpExportRequest;
const producerTrace = '616d71700000000000000000000f0001';
const linksBatch = (service: string) =>
  Buffer.from(
    JSON.stringify({ resourceSpans: linksFixture.resourceSpans!.filter((rs) => JSON.stringify(rs.resource).includes(`"${service}"`)) }),
  );

// ---- 2: a producer with a conversation id, a consumer without ---------------------------------
const mixedTrace = hexId(41, 16);
const mixedStartNs = BigInt(T0) * 1_000_000n;
/** One service's export of one span, as OTLP/JSON. */
const oneSpanBatch = (service: string, span: SpanSpec) =>
  Buffer.from(JSON.stringify(buildJsonRequest([{ attributes: { 'service.name': service }, spans: [span] }])));
const mixedProducer = oneSpanBatch('shop', {
  traceId: mixedTrace,
  spanId: hexId(1, 8),
  name: 'publish <default>',
  kind: 4,
  startNs: mixedStartNs,
  endNs: mixedStartNs + 1_000_000n,
  attributes: {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': 'send',
    'messaging.destination.name': 'billing',
    'messaging.message.id': 'order-1',
    'messaging.message.conversation_id': 'conv-mixed',
    'onceflow.message_type': 'BillOrder',
  },
});
const mixedConsumer = oneSpanBatch('plain-billing', {
  traceId: mixedTrace,
  spanId: hexId(2, 8),
  parentSpanId: hexId(1, 8),
  name: 'billing process',
  kind: 5,
  startNs: mixedStartNs + 10_000_000n,
  endNs: mixedStartNs + 30_000_000n,
  attributes: {
    'messaging.system': 'rabbitmq',
    'messaging.operation': 'process',
    'messaging.destination': '',
    'messaging.rabbitmq.routing_key': 'billing',
    'messaging.message_id': 'order-1',
  },
});

const ORDERS: [string, 'consumer' | 'producer'][] = [
  ['consumer batch first', 'consumer'],
  ['producer batch first', 'producer'],
];

describe.each(await storesUnderTest())('conversations derived at ingest, on the $name store', ({ enabled, open }) => {
  let opened: IndexedApp | null = null;
  afterEach(async () => {
    await opened?.close();
    opened = null;
  });

  /** Inserts the batches one by one in the given order, then indexes and serves them. */
  async function load(batches: Buffer[]): Promise<{ app: IndexedApp['app']; spans: SpanRow[] }> {
    const store = open();
    await store.init();
    const spans: SpanRow[] = [];
    for (const batch of batches) {
      const rows = convert(batch);
      await store.insertSpans(rows);
      spans.push(...rows);
    }
    // Inserting again is a no-op (span identity); it indexes the flows as the receiver would.
    opened = await indexedApp(store, spans, { now: NOW, quietPeriodMs: QUIET });
    return { app: opened.app, spans };
  }

  it.skipIf(!enabled).each(ORDERS)(
    'amqplib with links, %s: one flow, found by message id, trace id and attribute',
    async (_name, first) => {
      const [a, b] = [linksBatch('invoicing-node'), linksBatch('billing-node')];
      const { app, spans } = await load(first === 'consumer' ? [a, b] : [b, a]);
      expect(new Set(spans.map((s) => s.conversationId))).toEqual(new Set([`trace:${producerTrace}`]));

      const message = await app.inject({ url: '/api/messages/invoice-77' });
      expect(message.statusCode, message.body.slice(0, 300)).toBe(200);
      const history = message.json() as { conversationIds: string[]; message: { deliveries: unknown[] } };
      expect(history.conversationIds).toEqual([`trace:${producerTrace}`]);
      expect(history.message.deliveries).toHaveLength(2);

      for (const q of [producerTrace, '616d71700000000000000000000f0003', 'invoices']) {
        const search = (await app.inject({ url: `/api/search?q=${q}` })).json() as { flows: FlowSummary[] };
        expect(
          search.flows.map((f) => f.conversationId),
          q,
        ).toEqual([`trace:${producerTrace}`]);
      }

      const flow = (await app.inject({ url: `/api/flows/trace:${producerTrace}` })).json() as Flow;
      expect(flow.anomalies.map((a) => `${a.kind}:${a.severity}`).sort()).toEqual(['duplicate-delivery:warning', 'retry:warning']);
    },
  );

  it.skipIf(!enabled).each(ORDERS)('a plain consumer of a message with a conversation, %s: delivered, not lost', async (_name, first) => {
    const { app, spans } = await load(first === 'consumer' ? [mixedConsumer, mixedProducer] : [mixedProducer, mixedConsumer]);
    expect(spans.find((s) => s.service === 'plain-billing')!.conversationId).toBe(`trace:${mixedTrace}`);

    const flow = (await app.inject({ url: '/api/flows/conv-mixed' })).json() as Flow;
    expect(flow.messages.map((m) => [m.messageId, m.status, m.deliveries.map((d) => d.service)])).toEqual([
      ['order-1', 'processed', ['plain-billing']],
    ]);
    expect(flow.anomalies.map((a) => a.kind)).not.toContain('lost-message');

    const listed = (await app.inject({ url: `/api/flows?fromMs=${T0 - 60_000}&toMs=${T0 + 60_000}` })).json() as { flows: FlowSummary[] };
    expect(listed.flows.find((f) => f.conversationId === 'conv-mixed')).toMatchObject({
      complete: true,
      anomalyCounts: {},
      worstSeverity: null,
    });
  });

  it.skipIf(!enabled)('a plain consumer arriving after the producer’s flow was judged incomplete: judged again, delivered', async () => {
    const store = open();
    await store.init();
    // The clock moves between the two judgements: the newer record wins by its analysis time.
    let now = NOW;
    const indexer = createFlowIndexer({ store, logger: silentLogger(), clock: () => now, quietPeriodMs: QUIET });
    const producer = convert(mixedProducer);
    await store.insertSpans(producer);
    indexer.noteSpans(producer);
    await indexer.drain();
    expect((await store.getFlowRecord('conv-mixed'))!.complete).toBe(false);

    now += 60_000;
    const consumer = convert(mixedConsumer);
    await store.insertSpans(consumer);
    indexer.noteSpans(consumer);
    await indexer.drain(); // the derived flow: names conv-mixed as the flow it delivered for
    await indexer.drain(); // conv-mixed, judged again
    const record = await store.getFlowRecord('conv-mixed');
    expect(record!.anomalies.map((a) => a.kind)).toEqual([]);
    expect(record!.complete).toBe(true);
    await indexer.stop();
    // Wrapped only so afterEach closes the store (and drops a ClickHouse test database).
    opened = await indexedApp(store, [], { now: NOW, quietPeriodMs: QUIET });
  });

  it.skipIf(!enabled)('NServiceBus: a publish under the handler activity (no conversation) is found made by its attempt', async () => {
    //   Sales process message #2 └─ PlaceOrderHandler (no conversation tag) └─ publish event OrderPlaced
    const { app } = await load([readFileSync(new URL('../fixtures/frameworks/nservicebus.otlp.json', import.meta.url))]);
    const flow = (await app.inject({ url: '/api/flows/8f0b3c2e-5d1a-4c7e-9b61-0c2f6a7d4e11' })).json() as Flow;
    const orderPlaced = flow.messages.find((m) => m.messageType === 'OrderPlaced')!;
    expect(orderPlaced.sends.map((s) => [s.service, s.attemptSpanId])).toEqual([['Sales', '00000000000a0003']]);
    expect(flow.edges).toContainEqual({ from: '5b7d2f10-1a2b-4c3d-8e9f-a0b1c2d3e4f5', to: orderPlaced.messageId, via: 'message' });
  });

  it.skipIf(!enabled)('still calls a message nobody delivered lost (the lookup finds nothing)', async () => {
    const { app } = await load([mixedProducer]);
    const flow = (await app.inject({ url: '/api/flows/conv-mixed' })).json() as Flow;
    expect(flow.anomalies.map((a) => a.kind)).toEqual(['lost-message']);
  });
});
