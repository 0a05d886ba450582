/**
 * Storms, trends and topology through the API on a real in-memory DuckDB store, with a drawn
 * workload: a steady trickle of OrderBilled at marketing (one duplicate delivery every other
 * minute), then a three-minute burst of duplicates that must come back as one storm.
 *
 *   minute  0 ……… 19   20 21 22   23 ……… 29
 *   sends      1/min      1/min      1/min
 *   dups     ½/min     40/min     ½/min
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attempt, send } from '../../test/span-builders.js';
import { createApp } from '../app.js';
import { silentLogger } from '../logger.js';
import type { Storm, Topology, Trends } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 31, 11, 0, 0);
const NOW = T0 + 30 * MINUTE;
const BURST = { fromMinute: 20, toMinute: 23, perMinute: 40 };

function workload(): SpanRow[] {
  const spans: SpanRow[] = [];
  for (let minute = 0; minute < 30; minute++) {
    const at = T0 + minute * MINUTE;
    const messageId = `billed-${minute}`;
    const conversationId = `conv-${minute}`;
    const sent = send({ service: 'billing', messageId, messageType: 'OrderBilled', destination: 'order-events', atMs: at, conversationId });
    spans.push(sent, attempt({ parent: sent, service: 'marketing', outcome: 'processed', atMs: at + 100, durationMs: 5 }));
    const duplicates = minute >= BURST.fromMinute && minute < BURST.toMinute ? BURST.perMinute : minute % 2;
    for (let i = 0; i < duplicates; i++) {
      spans.push(attempt({ parent: sent, service: 'marketing', outcome: 'duplicate', attempt: 1, atMs: at + 200 + i * 1000, durationMs: 1 }));
    }
  }
  return spans;
}

let store: DuckDbStore;
let app: FastifyInstance;

beforeAll(async () => {
  store = new DuckDbStore({ path: ':memory:' });
  await store.init();
  await store.insertSpans(workload());
  app = await createApp({ store, logger: silentLogger(), clock: () => NOW });
});

afterAll(async () => {
  await app.close();
  await store.close();
});

async function get<T>(url: string): Promise<T> {
  const response = await app.inject({ method: 'GET', url });
  expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
  return response.json() as T;
}

describe('GET /api/storms', () => {
  it('reports the burst as one duplicate storm with its top keys', async () => {
    const body = await get<{ stepMs: number; storms: Storm[] }>(`/api/storms?from=${T0}&to=${NOW}&step=1m`);
    expect(body.stepMs).toBe(MINUTE);
    expect(body.storms).toHaveLength(1);
    const [storm] = body.storms;
    expect(storm).toMatchObject({ kind: 'duplicate', service: 'marketing', messageType: 'OrderBilled' });
    expect(storm.startMs).toBe(T0 + BURST.fromMinute * MINUTE);
    expect(storm.endMs).toBe(T0 + BURST.toMinute * MINUTE);
    expect(storm.count).toBe(3 * BURST.perMinute);
    expect(storm.topKeys[0]).toEqual({ messageId: expect.stringMatching(/^billed-2[012]$/), count: BURST.perMinute });
  });

  it('finds no storm in a quiet window', async () => {
    expect((await get<{ storms: Storm[] }>(`/api/storms?from=${T0}&to=${T0 + 15 * MINUTE}`)).storms).toEqual([]);
  });
});

describe('GET /api/trends', () => {
  it('buckets the window by the default step with totals and groups', async () => {
    const trends = await get<Trends>(`/api/trends?from=${T0}&to=${NOW}&by=service`);
    expect(trends).toMatchObject({ fromMs: T0, toMs: NOW, stepMs: 30_000, by: 'service' });
    expect(trends.groups).toEqual(expect.arrayContaining(['billing', 'marketing']));
    const totals = trends.buckets.filter((bucket) => bucket.group === '');
    expect(totals.reduce((sum, bucket) => sum + bucket.sent, 0)).toBe(30);
    expect(totals.reduce((sum, bucket) => sum + bucket.processed, 0)).toBe(30);
    // The burst, plus one in every odd minute outside it (14 of them).
    const duplicates = 3 * BURST.perMinute + 14;
    expect(totals.reduce((sum, bucket) => sum + bucket.duplicateDeliveries, 0)).toBe(duplicates);
  });

  it('groups by message type and destination', async () => {
    expect((await get<Trends>(`/api/trends?from=${T0}&to=${NOW}&by=messageType&step=5m`)).groups).toEqual(['OrderBilled']);
    expect((await get<Trends>(`/api/trends?from=${T0}&to=${NOW}&by=destination&step=5m`)).groups).toEqual(['order-events']);
  });
});

describe('GET /api/topology', () => {
  it('maps billing → order-events → marketing with counts', async () => {
    const topology = await get<Topology>(`/api/topology?from=${T0}&to=${NOW}`);
    expect(topology.nodes.map((node) => node.id).sort()).toEqual(['destination:order-events', 'service:billing', 'service:marketing']);
    const send = topology.edges.find((edge) => edge.kind === 'send');
    const consume = topology.edges.find((edge) => edge.kind === 'consume');
    expect(send).toMatchObject({ source: 'service:billing', target: 'destination:order-events', count: 30, messageTypes: ['OrderBilled'] });
    expect(consume).toMatchObject({ source: 'destination:order-events', target: 'service:marketing', messageTypes: ['OrderBilled'] });
    expect(consume!.duplicateRate).toBeGreaterThan(0);
  });
});
