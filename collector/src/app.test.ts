/**
 * End to end: the real `onceflow serve` pieces (DuckDB file store, OTLP receiver, flow indexer,
 * live hub, API) on random ports. OTLP/HTTP JSON in; the flow comes back through the API and
 * as a `flow` event on the live stream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from './app.js';
import { DEFAULT_CONFIG } from './config.js';
import { silentLogger } from './logger.js';
import type { Flow } from './model/flow.js';
import { DuckDbStore } from './store/duckdb/duckdb-store.js';
import { makeSpan } from '../test/span-builders.js';
import { msToNs } from './model/span.js';

const dataDir = mkdtempSync(join(tmpdir(), 'onceflow-serve-'));
let collector: RunningCollector;

beforeAll(async () => {
  collector = await startCollector(
    { ...DEFAULT_CONFIG, port: 0, otlpPort: 0, dataDir, quietPeriodMs: 60_000, retentionMs: 0 },
    { logger: silentLogger() },
  );
});

afterAll(async () => {
  await collector?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const attr = (key: string, value: string | number) =>
  typeof value === 'number' ? { key, value: { intValue: String(value) } } : { key, value: { stringValue: value } };

/** One conversation: shop-api sends SubmitOrder, orders processes it (OTLP JSON encoding). */
function orderConversation(conversationId: string, traceId: string) {
  const startNs = BigInt(Date.now() - 2000) * 1_000_000n;
  const ns = (offsetMs: number) => String(startNs + BigInt(offsetMs) * 1_000_000n);
  const identity = [
    attr('messaging.message.id', `${conversationId}-submit`),
    attr('messaging.message.conversation_id', conversationId),
    attr('onceflow.message_type', 'SubmitOrder'),
    attr('messaging.destination.name', 'orders'),
    attr('messaging.system', 'rabbitmq'),
  ];
  const resourceSpans = (service: string, span: Record<string, unknown>) => ({
    resource: { attributes: [attr('service.name', service)] },
    scopeSpans: [{ scope: { name: 'test' }, spans: [span] }],
  });
  return {
    resourceSpans: [
      resourceSpans('shop-api', {
        traceId,
        spanId: '00000000000000a1',
        name: 'orders send',
        kind: 4,
        startTimeUnixNano: ns(0),
        endTimeUnixNano: ns(2),
        attributes: [...identity, attr('messaging.operation.type', 'send'), attr('onceflow.business_key', 'order-e2e')],
      }),
      resourceSpans('orders', {
        traceId,
        spanId: '00000000000000a2',
        parentSpanId: '00000000000000a1',
        name: 'orders process',
        kind: 5,
        startTimeUnixNano: ns(10),
        endTimeUnixNano: ns(30),
        attributes: [
          ...identity,
          attr('messaging.operation.type', 'process'),
          attr('onceflow.attempt', 1),
          attr('onceflow.outcome', 'processed'),
        ],
      }),
    ],
  };
}

async function postTraces(body: unknown): Promise<Response> {
  return fetch(`${collector.otlpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Reads the SSE stream until an event of `name` whose data contains `needle` arrives. */
async function waitForEvent(stream: ReadableStream<Uint8Array>, name: string, needle: string): Promise<unknown> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('live stream ended');
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === name && data?.includes(needle)) return JSON.parse(data);
      }
    }
  } finally {
    await reader.cancel();
  }
}

describe('onceflow serve', () => {
  it('answers health on the API port', async () => {
    const health = await (await fetch(`${collector.apiUrl}/api/health`)).json();
    expect(health).toMatchObject({ status: 'ok', store: 'duckdb' });
  });

  it('streams a flow event and serves the flow after OTLP spans arrive', async () => {
    const live = await fetch(`${collector.apiUrl}/api/live`);
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const event = waitForEvent(live.body!, 'flow', 'conv-e2e-1');

    const response = await postTraces(orderConversation('conv-e2e-1', '0af7651916cd43dd8448eb211c80319c'));
    expect(response.status).toBe(200);
    expect(await event).toMatchObject({ conversationId: 'conv-e2e-1', state: 'active', messageCount: 1 });

    const flow = (await (await fetch(`${collector.apiUrl}/api/flows/conv-e2e-1`)).json()) as Flow;
    expect(flow.conversationId).toBe('conv-e2e-1');
    expect(flow.messages).toHaveLength(1);
    expect(flow.messages[0]).toMatchObject({
      messageId: 'conv-e2e-1-submit',
      messageType: 'SubmitOrder',
      producer: 'shop-api',
      status: 'processed',
    });
    expect(flow.messages[0].deliveries).toEqual([
      expect.objectContaining({
        service: 'orders',
        attempt: 1,
        outcome: 'processed',
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: '00000000000000a2',
      }),
    ]);

    const list = await (await fetch(`${collector.apiUrl}/api/flows`)).json();
    expect(list.flows.map((f: { conversationId: string }) => f.conversationId)).toContain('conv-e2e-1');
    const search = await (await fetch(`${collector.apiUrl}/api/search?q=order-e2e`)).json();
    expect(search.flows.map((f: { conversationId: string }) => f.conversationId)).toEqual(['conv-e2e-1']);
  });

  it('keeps acknowledged spans across a restart on the same data directory', async () => {
    expect((await postTraces(orderConversation('conv-e2e-2', '1af7651916cd43dd8448eb211c80319c'))).status).toBe(200);
    await collector.close();
    collector = await startCollector(
      { ...DEFAULT_CONFIG, port: 0, otlpPort: 0, dataDir, quietPeriodMs: 60_000, retentionMs: 0 },
      { logger: silentLogger() },
    );
    const response = await fetch(`${collector.apiUrl}/api/flows/conv-e2e-2`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as Flow).messages[0].deliveries).toHaveLength(1);
  });
});

describe('retention', () => {
  it('drops data older than the retention age at start-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onceflow-retention-'));
    const seed = new DuckDbStore({ dataDir: dir });
    await seed.init();
    const day = 86_400_000;
    await seed.insertSpans([
      makeSpan({ conversationId: 'conv-old', startNs: msToNs(Date.now() - 3 * day) }),
      makeSpan({ conversationId: 'conv-new', startNs: msToNs(Date.now() - 60_000) }),
    ]);
    await seed.close();
    const running = await startCollector(
      { ...DEFAULT_CONFIG, port: 0, otlpPort: 0, dataDir: dir, retentionMs: day },
      { logger: silentLogger() },
    );
    try {
      let spans = 2;
      for (let i = 0; i < 100 && spans !== 1; i++) {
        spans = (await (await fetch(`${running.apiUrl}/api/health`)).json()).spans;
        if (spans !== 1) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(spans).toBe(1);
      expect(await running.store.spansOfConversation('conv-old', 10)).toEqual([]);
      expect(await running.store.spansOfConversation('conv-new', 10)).toHaveLength(1);
    } finally {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
