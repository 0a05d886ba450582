import { afterEach, describe, expect, it } from 'vitest';
import { attempt, resetSpanIds, send } from '../../test/span-builders.js';
import { indexedApp, type IndexedApp } from '../../test/api-stores.js';
import type { Flow } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { convertExportRequest, decodeJson, DEFAULT_LIMITS } from '../otlp/index.js';
import { buildJsonRequest, hexId } from '../otlp/request-builder.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { undeliveredMessageIds } from './deliveries-elsewhere.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const NOW = T0 + 600_000;
const QUIET = 60_000;

describe('undeliveredMessageIds', () => {
  it.each<[string, () => SpanRow[], string[]]>([
    ['a send with no delivery', () => [send({ service: 'a', messageId: 'm1', messageType: 'T', atMs: T0 })], ['m1']],
    [
      'a delivered send',
      () => {
        const s = send({ service: 'a', messageId: 'm1', messageType: 'T', atMs: T0 });
        return [s, attempt({ parent: s, service: 'b', atMs: T0 + 5 })];
      },
      [],
    ],
    ['an outgoing id never delivered', () => [attempt({ service: 'b', messageId: 'm0', outcome: 'processed', outgoing: ['m2'], atMs: T0 })], ['m2']],
    ['a delivery without its send', () => [attempt({ service: 'b', messageId: 'm1', atMs: T0 })], []],
  ])('%s', (_name, build, expected) => {
    resetSpanIds();
    expect(undeliveredMessageIds(build())).toEqual(expected);
  });
});

describe('a producer with a conversation id, a consumer without one', () => {
  // shop (Onceflow: conversation conv-mixed) ─ publish order-1 ─> plain-billing (amqplib only: no conversation)
  //   the consumer's conversation is derived: trace:<producer trace>; the flow conv-mixed must
  //   still see the delivery, whichever batch the collector received first.
  const trace = hexId(41, 16);
  const startNs = BigInt(T0) * 1_000_000n;
  const producerBatch = buildJsonRequest([
    {
      attributes: { 'service.name': 'shop' },
      spans: [
        {
          traceId: trace,
          spanId: hexId(1, 8),
          name: 'publish <default>',
          kind: 4,
          startNs,
          endNs: startNs + 1_000_000n,
          attributes: {
            'messaging.system': 'rabbitmq',
            'messaging.operation.type': 'send',
            'messaging.destination.name': 'billing',
            'messaging.message.id': 'order-1',
            'messaging.message.conversation_id': 'conv-mixed',
            'onceflow.message_type': 'BillOrder',
          },
        },
      ],
    },
  ]);
  const consumerBatch = buildJsonRequest([
    {
      attributes: { 'service.name': 'plain-billing' },
      spans: [
        {
          traceId: trace,
          spanId: hexId(2, 8),
          parentSpanId: hexId(1, 8),
          name: 'billing process',
          kind: 5,
          startNs: startNs + 10_000_000n,
          endNs: startNs + 30_000_000n,
          attributes: { 'messaging.system': 'rabbitmq', 'messaging.operation': 'process', 'messaging.destination': '', 'messaging.rabbitmq.routing_key': 'billing', 'messaging.message_id': 'order-1' },
        },
      ],
    },
  ]);
  const convert = (body: unknown) =>
    convertExportRequest(decodeJson(Buffer.from(JSON.stringify(body)), DEFAULT_LIMITS), DEFAULT_LIMITS, NOW).spans;

  let opened: IndexedApp | null = null;
  afterEach(async () => {
    await opened?.close();
    opened = null;
  });

  it.each([
    ['consumer batch first', [consumerBatch, producerBatch]],
    ['producer batch first', [producerBatch, consumerBatch]],
  ])('%s: the message is delivered, not lost, in the listed flow and in its detail', async (_name, batches) => {
    const store = new DuckDbStore({ path: ':memory:' });
    await store.init();
    const spans: SpanRow[] = [];
    for (const batch of batches) {
      const rows = convert(batch);
      await store.insertSpans(rows);
      spans.push(...rows);
    }
    expect(spans.find((s) => s.service === 'plain-billing')!.conversationId).toBe(`trace:${trace}`);
    opened = await indexedApp(store, spans, { now: NOW, quietPeriodMs: QUIET });

    const flow = (await opened.app.inject({ url: '/api/flows/conv-mixed' })).json() as Flow;
    expect(flow.messages.map((m) => [m.messageId, m.status, m.deliveries.map((d) => d.service)])).toEqual([['order-1', 'processed', ['plain-billing']]]);
    expect(flow.anomalies.map((a) => a.kind)).not.toContain('lost-message');

    const record = await store.getFlowRecord('conv-mixed');
    expect(record!.anomalies.map((a) => a.kind)).not.toContain('lost-message');
    expect(record!.complete).toBe(true);
  });

  it('still calls a message that nobody delivered lost (the lookup finds nothing)', async () => {
    const store = new DuckDbStore({ path: ':memory:' });
    await store.init();
    const spans = convert(producerBatch);
    opened = await indexedApp(store, spans, { now: NOW, quietPeriodMs: QUIET });
    const record = await store.getFlowRecord('conv-mixed');
    expect(record!.anomalies.map((a) => a.kind)).toEqual(['lost-message']);
  });
});
