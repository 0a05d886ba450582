/**
 * Storms, trends and topology through the API on a real in-memory DuckDB store, with a drawn
 * workload: a steady trickle of OrderBilled at marketing (one duplicate delivery every other
 * minute), then a three-minute burst of duplicates that must come back as one storm, once the
 * key's first 30 minutes (its learning time) are over. Shipping starts late: still learning.
 *
 *   minute  0 ……… 44   45 46 47   48 ……… 59
 *   sends      1/min      1/min      1/min
 *   dups     ½/min     40/min     ½/min
 *   shipping                     from 50: 1 OrderShipped/min, 30 duplicates at 55
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attempt, send } from '../../test/span-builders.js';
import { createApp } from '../app.js';
import { silentLogger } from '../logger.js';
import type { StormList, Topology, Trends } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 31, 11, 0, 0);
const NOW = T0 + 60 * MINUTE;
const BURST = { fromMinute: 45, toMinute: 48, perMinute: 40 };
const SHIPPING_FROM_MINUTE = 50;
/** Trends and topology read the first half hour: marketing's trickle only. */
const EARLY = T0 + 30 * MINUTE;

function workload(): SpanRow[] {
  const spans: SpanRow[] = [];
  for (let minute = 0; minute < 60; minute++) {
    const at = T0 + minute * MINUTE;
    const messageId = `billed-${minute}`;
    const conversationId = `conv-${minute}`;
    const sent = send({ service: 'billing', messageId, messageType: 'OrderBilled', destination: 'order-events', atMs: at, conversationId });
    spans.push(sent, attempt({ parent: sent, service: 'marketing', outcome: 'processed', atMs: at + 100, durationMs: 5 }));
    const duplicates = minute >= BURST.fromMinute && minute < BURST.toMinute ? BURST.perMinute : minute % 2;
    for (let i = 0; i < duplicates; i++) {
      spans.push(
        attempt({ parent: sent, service: 'marketing', outcome: 'duplicate', attempt: 1, atMs: at + 200 + i * 1000, durationMs: 1 }),
      );
    }
    if (minute < SHIPPING_FROM_MINUTE) continue;
    const shipped = send({
      service: 'orders',
      messageId: `shipped-${minute}`,
      messageType: 'OrderShipped',
      destination: 'shipping',
      atMs: at,
      conversationId,
    });
    spans.push(shipped, attempt({ parent: shipped, service: 'shipping', outcome: 'processed', atMs: at + 50, durationMs: 5 }));
    const redeliveries = minute === 55 ? 30 : 0;
    for (let i = 0; i < redeliveries; i++) {
      spans.push(
        attempt({ parent: shipped, service: 'shipping', outcome: 'duplicate', attempt: 1, atMs: at + 300 + i * 1000, durationMs: 1 }),
      );
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
  it('reports the burst as one duplicate-delivery storm with its score and top keys', async () => {
    const body = await get<StormList>(`/api/storms?from=${T0}&to=${NOW}&step=1m`);
    expect(body).toMatchObject({ stepMs: MINUTE, learningMs: 30 * MINUTE });
    expect(body.storms).toHaveLength(1);
    const [storm] = body.storms;
    expect(storm).toMatchObject({
      kind: 'duplicate-delivery',
      service: 'marketing',
      destination: 'order-events',
      endpoint: 'marketing/order-events',
      messageType: 'OrderBilled',
      levelShift: false,
      ongoing: false,
    });
    expect(storm.startMs).toBe(T0 + BURST.fromMinute * MINUTE);
    expect(storm.endMs).toBe(T0 + BURST.toMinute * MINUTE);
    expect(storm.count).toBe(3 * BURST.perMinute);
    expect(storm.score).toBeGreaterThan(10);
    expect(storm.topKeys[0]).toEqual({ messageId: expect.stringMatching(/^billed-4[567]$/), count: BURST.perMinute });
  });

  it('says which keys are still learning, and until when, instead of reporting their storms', async () => {
    const body = await get<StormList>(`/api/storms?from=${T0 + 40 * MINUTE}&to=${NOW}&step=1m`);
    expect(body.learning).toEqual([
      expect.objectContaining({
        service: 'shipping',
        messageType: 'OrderShipped',
        firstSeenMs: T0 + SHIPPING_FROM_MINUTE * MINUTE,
        learnedAtMs: T0 + (SHIPPING_FROM_MINUTE + 30) * MINUTE,
      }),
    ]);
    expect(body.storms.map((storm) => storm.service)).toEqual(['marketing']);
  });

  it('reads the history before the window, so a window that starts late still judges the burst', async () => {
    const body = await get<StormList>(`/api/storms?from=${T0 + 44 * MINUTE}&to=${NOW}&step=1m`);
    expect(body.storms.map((storm) => storm.startMs)).toEqual([T0 + BURST.fromMinute * MINUTE]);
  });

  it('finds no storm while the key is learning, nor in a quiet window', async () => {
    expect((await get<StormList>(`/api/storms?from=${T0}&to=${T0 + 15 * MINUTE}`)).storms).toEqual([]);
    expect((await get<StormList>(`/api/storms?from=${T0 + 30 * MINUTE}&to=${T0 + 44 * MINUTE}`)).storms).toEqual([]);
  });

  it('takes the learning time from the app options', async () => {
    const quick = await createApp({ store, logger: silentLogger(), clock: () => NOW, stormOptions: { learningMs: 2 * MINUTE } });
    try {
      const response = await quick.inject({ method: 'GET', url: `/api/storms?from=${T0}&to=${NOW}&step=1m` });
      const body = response.json() as StormList;
      expect(body.learningMs).toBe(2 * MINUTE);
      expect(body.learning).toEqual([]);
      expect(body.storms.map((storm) => [storm.service, storm.startMs])).toEqual(expect.arrayContaining([['shipping', T0 + 55 * MINUTE]]));
    } finally {
      await quick.close();
    }
  });
});

describe('GET /api/trends', () => {
  it('buckets the window by the default step with totals and groups', async () => {
    const trends = await get<Trends>(`/api/trends?from=${T0}&to=${EARLY}&by=service`);
    expect(trends).toMatchObject({ fromMs: T0, toMs: EARLY, stepMs: 30_000, by: 'service' });
    expect(trends.groups).toEqual(expect.arrayContaining(['billing', 'marketing']));
    const totals = trends.buckets.filter((bucket) => bucket.group === '');
    expect(totals.reduce((sum, bucket) => sum + bucket.sent, 0)).toBe(30);
    expect(totals.reduce((sum, bucket) => sum + bucket.processed, 0)).toBe(30);
    // One in every odd minute of the first half hour.
    const duplicates = 15;
    expect(totals.reduce((sum, bucket) => sum + bucket.duplicateDeliveries, 0)).toBe(duplicates);
  });

  it('groups by message type and destination', async () => {
    expect((await get<Trends>(`/api/trends?from=${T0}&to=${EARLY}&by=messageType&step=5m`)).groups).toEqual(['OrderBilled']);
    expect((await get<Trends>(`/api/trends?from=${T0}&to=${EARLY}&by=destination&step=5m`)).groups).toEqual(['order-events']);
  });
});

describe('GET /api/topology', () => {
  it('maps billing → order-events → marketing with counts', async () => {
    const topology = await get<Topology>(`/api/topology?from=${T0}&to=${EARLY}`);
    expect(topology.nodes.map((node) => node.id).sort()).toEqual(['destination:order-events', 'service:billing', 'service:marketing']);
    const send = topology.edges.find((edge) => edge.kind === 'send');
    const consume = topology.edges.find((edge) => edge.kind === 'consume');
    expect(send).toMatchObject({ source: 'service:billing', target: 'destination:order-events', count: 30, messageTypes: ['OrderBilled'] });
    expect(consume).toMatchObject({ source: 'destination:order-events', target: 'service:marketing', messageTypes: ['OrderBilled'] });
    expect(consume!.duplicateRate).toBeGreaterThan(0);
  });
});
