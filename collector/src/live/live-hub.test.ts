import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { attempt, send } from '../../test/span-builders.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { createLiveHub, type LiveHub } from './live-hub.js';
import { createTopologyFeed } from './topology-feed.js';

let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(null));
  server = null;
});

async function serve(hub: LiveHub): Promise<string> {
  server = createServer((_req, res) => hub.attach(res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

function connect(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => request(url, resolve).on('error', reject).end());
}

/** Reads the stream until `predicate` holds for the text received so far. */
function readUntil(response: IncomingMessage, predicate: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (predicate(text)) {
        response.off('data', onData);
        resolve(text);
      }
    };
    response.on('data', onData);
  });
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('live hub', () => {
  it('streams published events as SSE to every client', async () => {
    const hub = createLiveHub({ logger: silentLogger() });
    const url = await serve(hub);
    const [a, b] = await Promise.all([connect(url), connect(url)]);
    expect(a.headers['content-type']).toMatch(/^text\/event-stream/);
    await until(() => hub.clientCount() === 2);
    const reading = Promise.all([a, b].map((response) => readUntil(response, (text) => text.includes('"conversationId":"c1"'))));
    hub.publish('flow', { conversationId: 'c1' });
    for (const text of await reading) {
      expect(text).toMatch(/event: flow\ndata: \{"conversationId":"c1"\}\n\n/);
    }
    a.destroy();
    b.destroy();
    await until(() => hub.clientCount() === 0);
  });

  it('sends heartbeats', async () => {
    const hub = createLiveHub({ logger: silentLogger(), heartbeatMs: 20 });
    const response = await connect(await serve(hub));
    const text = await readUntil(response, (received) => received.includes(': heartbeat'));
    expect(text).toContain(': connected');
    response.destroy();
  });

  it('drops a client that stops reading instead of buffering without bound', async () => {
    const hub = createLiveHub({ logger: silentLogger(), maxBufferedBytes: 64 * 1024 });
    const response = await connect(await serve(hub));
    response.pause();
    await until(() => hub.clientCount() === 1);
    const big = { blob: 'x'.repeat(16 * 1024) };
    for (let i = 0; i < 2000 && hub.clientCount() > 0; i++) {
      hub.publish('topology', big);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(hub.clientCount()).toBe(0);
    response.destroy();
  });

  it('ends every stream on close', async () => {
    const hub = createLiveHub({ logger: silentLogger() });
    const response = await connect(await serve(hub));
    await until(() => hub.clientCount() === 1);
    const ended = new Promise((resolve) => response.on('close', resolve));
    response.resume();
    hub.close();
    await ended;
    expect(hub.clientCount()).toBe(0);
  });
});

describe('topology feed', () => {
  it('publishes the map when spans arrived and someone listens', async () => {
    const now = Date.UTC(2026, 0, 31, 12);
    const store = new DuckDbStore({ path: ':memory:' });
    await store.init();
    const sent = send({
      service: 'billing',
      messageId: 'm1',
      messageType: 'OrderBilled',
      destination: 'order-events',
      atMs: now - 60_000,
      conversationId: 'c1',
    });
    await store.insertSpans([sent, attempt({ parent: sent, service: 'marketing', outcome: 'processed', atMs: now - 59_000 })]);
    const hub = createLiveHub({ logger: silentLogger() });
    const feed = createTopologyFeed({ store, live: hub, logger: silentLogger(), clock: () => now });
    try {
      feed.noteSpans();
      expect(await feed.refresh()).toBe(false); // nobody listens: no query
      const response = await connect(await serve(hub));
      await until(() => hub.clientCount() === 1);
      const received = readUntil(response, (text) => text.includes('event: topology'));
      expect(await feed.refresh()).toBe(true);
      const text = await received;
      const data = JSON.parse(/event: topology\ndata: (.*)\n/.exec(text)![1]);
      expect(data.nodes.map((node: { id: string }) => node.id).sort()).toEqual([
        'destination:order-events',
        'service:billing',
        'service:marketing',
      ]);
      expect(await feed.refresh()).toBe(false); // nothing new since
      response.destroy();
    } finally {
      hub.close();
      await store.close();
    }
  });
});
