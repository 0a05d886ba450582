/**
 * Storms of the flow records' anomalies through the API, on a real in-memory DuckDB store:
 * orders consumes one SubmitOrder a minute from its queue and sends BillCustomer for each; the
 * flow records say BillCustomer was lost now and then, then in a burst. The lost messages are
 * named by orders' endpoint and BillCustomer — a key with no span rows of its own, whose calm
 * minutes are its endpoint's traffic.
 *
 *   minute            0 ……… 44   45 46 47   48 ……… 59
 *   SubmitOrder          1/min      1/min      1/min     (spans)
 *   lost BillCustomer    1 at 10    12/min     0         (flow records)
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attempt, send } from '../../test/span-builders.js';
import { createApp } from '../app.js';
import { silentLogger } from '../logger.js';
import type { Anomaly, FlowRecord, StormList } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 1, 3, 8, 0, 0);
const NOW = T0 + 60 * MINUTE;
const BURST = { fromMinute: 45, toMinute: 48, perMinute: 12 };
const HELD = { verdict: 'held' as const, evidence: [], reason: '' };

function traffic(): SpanRow[] {
  return Array.from({ length: 60 }, (_, minute) => {
    const at = T0 + minute * MINUTE;
    const submit = send({ service: 'edge', messageId: `submit-${minute}`, messageType: 'SubmitOrder', destination: 'orders', atMs: at });
    return [submit, attempt({ parent: submit, service: 'orders', outcome: 'processed', atMs: at + 100, durationMs: 5 })];
  }).flat();
}

/** One flow per lost BillCustomer, with its lost-message anomaly at the send. */
function lostFlow(minute: number, i: number): FlowRecord {
  const timeMs = T0 + minute * MINUTE + 200 + i * 1000;
  const lost: Anomaly = {
    kind: 'lost-message',
    severity: 'error',
    conversationId: `lost-${minute}-${i}`,
    messageId: `bill-${minute}-${i}`,
    messageType: 'BillCustomer',
    service: 'orders',
    endpoint: 'orders/orders',
    detail: `BillCustomer bill-${minute}-${i} sent by orders was never delivered`,
    timeMs,
  };
  return {
    conversationId: lost.conversationId,
    startMs: timeMs - 200,
    endMs: timeMs,
    durationMs: 200,
    complete: false,
    state: 'incomplete',
    services: ['edge', 'orders'],
    messageTypes: ['SubmitOrder', 'BillCustomer'],
    rootType: 'SubmitOrder',
    messageCount: 2,
    spanCount: 3,
    idempotencyKeys: [],
    businessKeys: [],
    anomalyCounts: { 'lost-message': 1 },
    worstSeverity: 'error',
    ledger: {
      noDuplicateProcessing: HELD,
      noGhost: HELD,
      noLost: { verdict: 'violated', evidence: [], reason: lost.detail },
      consistentOutput: HELD,
    },
    verdict: 'violated',
    anomalies: [lost],
    analyzedAtMs: NOW,
  };
}

function lostFlows(): FlowRecord[] {
  const flows = [lostFlow(10, 0)];
  for (let minute = BURST.fromMinute; minute < BURST.toMinute; minute++) {
    for (let i = 0; i < BURST.perMinute; i++) flows.push(lostFlow(minute, i));
  }
  return flows;
}

let store: DuckDbStore;
let app: FastifyInstance;

beforeAll(async () => {
  store = new DuckDbStore({ path: ':memory:' });
  await store.init();
  await store.insertSpans(traffic());
  await store.saveFlows(lostFlows());
  app = await createApp({ store, logger: silentLogger(), clock: () => NOW });
});

afterAll(async () => {
  await app.close();
  await store.close();
});

async function storms(fromMs: number, toMs: number): Promise<StormList> {
  const response = await app.inject({ method: 'GET', url: `/api/storms?from=${fromMs}&to=${toMs}&step=1m` });
  expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
  return response.json() as StormList;
}

describe('GET /api/storms of lost messages', () => {
  it('reports the burst as one lost-message storm with its top keys from the flow records', async () => {
    const body = await storms(T0, NOW);
    expect(body.storms).toHaveLength(1);
    const [storm] = body.storms;
    expect(storm).toMatchObject({
      kind: 'lost-message',
      service: 'orders',
      destination: 'orders',
      endpoint: 'orders/orders',
      messageType: 'BillCustomer',
      startMs: T0 + BURST.fromMinute * MINUTE,
      endMs: T0 + BURST.toMinute * MINUTE,
      peakPerMinute: BURST.perMinute,
      baselinePerMinute: 0,
      count: 3 * BURST.perMinute,
      levelShift: false,
      ongoing: false,
    });
    expect(storm.topKeys).toHaveLength(5);
    for (const key of storm.topKeys) expect(key).toEqual({ messageId: expect.stringMatching(/^bill-4[567]-\d+$/), count: 1 });
    expect(body.learning).toEqual([]);
  });

  it('reads the anomalies of the history before the window too: an episode that began before it', async () => {
    // A learning time shorter than the baseline window: the history read (30 minutes before
    // `from`) is learned by the burst, which began a minute before the window.
    const quick = await createApp({ store, logger: silentLogger(), clock: () => NOW, stormOptions: { learningMs: 5 * MINUTE } });
    try {
      const response = await quick.inject({ method: 'GET', url: `/api/storms?from=${T0 + 46 * MINUTE}&to=${NOW}&step=1m` });
      const body = response.json() as StormList;
      expect(body.storms.map((storm) => [storm.kind, storm.startMs, storm.count])).toEqual([
        ['lost-message', T0 + BURST.fromMinute * MINUTE, 3 * BURST.perMinute],
      ]);
    } finally {
      await quick.close();
    }
  });

  it('finds no storm in the calm window before the burst', async () => {
    expect((await storms(T0 + 30 * MINUTE, T0 + 44 * MINUTE)).storms).toEqual([]);
  });
});
