/**
 * The REST API over a real in-memory DuckDB store seeded with the anomaly fixture flows and
 * indexed once by the flow indexer: response shapes, filters, validation and paging.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANOMALY_FLOWS_QUIET_PERIOD_MS, buildAnomalyFlows, type AnomalyFlows } from '../../test/fixtures/anomaly-flows.js';
import { attempt, send } from '../../test/span-builders.js';
import { createApp } from '../app.js';
import { createFlowIndexer } from '../indexer/flow-indexer.js';
import { silentLogger } from '../logger.js';
import { ANOMALY_KINDS, type Anomaly, type Flow, type FlowSummary } from '../model/flow.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import type { SpanStore } from '../store/span-store.js';

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
let store: SpanStore;
let app: FastifyInstance;
let fixture: AnomalyFlows;

beforeAll(async () => {
  fixture = buildAnomalyFlows(NOW);
  store = new DuckDbStore({ path: ':memory:' });
  await store.init();
  await store.insertSpans(fixture.spans);
  const clock = () => NOW;
  const indexer = createFlowIndexer({ store, logger: silentLogger(), clock, quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS });
  indexer.noteSpans(fixture.spans);
  await indexer.drain();
  app = await createApp({ store, logger: silentLogger(), clock, indexer, quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
});

async function get<T = any>(url: string, status = 200): Promise<T> {
  const response = await app.inject({ method: 'GET', url });
  expect(response.statusCode, `${url}: ${response.body.slice(0, 300)}`).toBe(status);
  return response.json() as T;
}

const sorted = <T>(values: T[]) => [...values].sort();

function expectAnomalyShape(anomaly: Anomaly) {
  expect(ANOMALY_KINDS).toContain(anomaly.kind);
  expect(typeof anomaly.messageId).toBe('string');
  expect(anomaly.service).toMatch(/\S/);
  expect(anomaly.detail).toMatch(/\S/);
}

describe('GET /api/health', () => {
  it('reports status, store, version and span count', async () => {
    const health = await get('/api/health');
    expect(health).toMatchObject({ status: 'ok', store: 'duckdb', spans: fixture.spans.length });
    expect(health.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('GET /api/flows', () => {
  it('lists every fixture flow of the last hour with its conversationId and state', async () => {
    const page = await get<{ flows: FlowSummary[]; total: number }>('/api/flows?limit=500');
    const byId = new Map(page.flows.map((flow) => [flow.conversationId, flow]));
    for (const expected of fixture.expected) {
      const flow = byId.get(expected.conversationId);
      expect(flow, expected.conversationId).toBeDefined();
      expect(flow!.state, expected.conversationId).toBe(expected.state);
      expect(sorted(Object.keys(flow!.anomalyCounts)), expected.conversationId).toEqual(sorted(expected.kinds));
    }
    expect(page.total).toBe(fixture.expected.length);
  });

  it.each(ANOMALY_KINDS)('filters by anomaly=%s', async (kind) => {
    const page = await get<{ flows: FlowSummary[] }>(`/api/flows?anomaly=${kind}&limit=500`);
    const want = fixture.expected.filter((flow) => flow.kinds.includes(kind)).map((flow) => flow.conversationId);
    expect(want.length).toBeGreaterThan(0);
    expect(sorted(page.flows.map((flow) => flow.conversationId))).toEqual(sorted(want));
  });

  it.each(['violated', 'unknown', 'held'])('filters by verdict=%s, and every summary carries its ledger', async (verdict) => {
    const page = await get<{ flows: FlowSummary[] }>(`/api/flows?verdict=${verdict}&limit=500`);
    const want = fixture.expected.filter((flow) => flow.verdict === verdict).map((flow) => flow.conversationId);
    expect(want.length).toBeGreaterThan(0);
    expect(sorted(page.flows.map((flow) => flow.conversationId))).toEqual(sorted(want));
    for (const flow of page.flows)
      expect(Object.keys(flow.ledger).sort()).toEqual(['consistentOutput', 'noDuplicateProcessing', 'noGhost', 'noLost']);
  });

  it('refuses an unknown verdict', async () => {
    await get('/api/flows?verdict=maybe', 400);
  });

  it('filters by state and completeness', async () => {
    const active = await get<{ flows: FlowSummary[] }>('/api/flows?state=active&limit=500');
    expect(active.flows.map((flow) => flow.conversationId)).toEqual(
      fixture.expected.filter((f) => f.state === 'active').map((f) => f.conversationId),
    );
    const incomplete = await get<{ flows: FlowSummary[] }>('/api/flows?complete=false&state=incomplete&limit=500');
    expect(sorted(incomplete.flows.map((flow) => flow.conversationId))).toEqual(
      sorted(fixture.expected.filter((f) => f.state === 'incomplete').map((f) => f.conversationId)),
    );
  });

  it('pages with a cursor without repeating a flow', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { flows: FlowSummary[]; nextCursor: string | null } = await get(
        `/api/flows?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      seen.push(...page.flows.map((flow) => flow.conversationId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(sorted(seen)).toEqual(sorted(fixture.expected.map((flow) => flow.conversationId)));
  });

  it('finds nothing outside the window', async () => {
    const page = await get<{ flows: FlowSummary[] }>(
      `/api/flows?from=${NOW - 10 * 3_600_000}&to=${new Date(NOW - 5 * 3_600_000).toISOString()}`,
    );
    expect(page.flows).toEqual([]);
  });
});

describe('GET /api/flows/:conversationId', () => {
  it('reconstructs every fixture flow with its anomalies, messages and deliveries', async () => {
    for (const expected of fixture.expected) {
      const flow = await get<Flow>(`/api/flows/${encodeURIComponent(expected.conversationId)}`);
      expect(flow.conversationId).toBe(expected.conversationId);
      expect(flow.state).toBe(expected.state);
      expect(sorted([...new Set(flow.anomalies.map((a) => a.kind))])).toEqual(sorted(expected.kinds));
      flow.anomalies.forEach(expectAnomalyShape);
      for (const { kind, messageId } of expected.flagged) {
        expect(flow.messages.find((m) => m.messageId === messageId)?.flags, `${expected.conversationId} ${messageId}`).toContain(kind);
      }
      for (const message of flow.messages) {
        expect(message.messageId).toMatch(/\S/);
        expect(typeof message.messageType).toBe('string');
        expect(typeof message.causationId).toBe('string');
        for (const delivery of message.deliveries) {
          expect(delivery.service).toMatch(/\S/);
          expect(Number.isInteger(delivery.attempt)).toBe(true);
          expect(['processed', 'duplicate', 'failed', 'retry_scheduled', 'dead_lettered', '']).toContain(delivery.outcome);
          expect(delivery.startMs).toBeGreaterThan(NOW - 3_600_000);
          expect(delivery.durationMs).toBeGreaterThanOrEqual(0);
          expect(delivery.traceId).toMatch(/^[0-9a-f]{32}$/);
          expect(delivery.spanId).toMatch(/^[0-9a-f]{16}$/);
        }
      }
    }
  });

  it('pages the messages while counts cover the whole flow', async () => {
    const id = fixture.expected[0].conversationId;
    const whole = await get<Flow>(`/api/flows/${id}`);
    expect(whole.messages.length).toBeGreaterThan(2);
    const page = await get<Flow>(`/api/flows/${id}?offset=1&limit=2`);
    expect(page.page).toEqual({ offset: 1, limit: 2, total: whole.messages.length });
    expect(page.messages.map((m) => m.messageId)).toEqual(whole.messages.slice(1, 3).map((m) => m.messageId));
    expect(page.messageCount).toBe(whole.messageCount);
    expect(page.anomalies).toEqual(whole.anomalies);
  });

  it('answers 404 for an unknown conversation', async () => {
    const body = await get('/api/flows/no-such-conversation', 404);
    expect(body).toMatchObject({ error: expect.stringContaining('no-such-conversation'), parameter: null });
  });
});

describe('GET /api/messages/:messageId', () => {
  it('returns every delivery and attempt of a flagged message', async () => {
    for (const expected of fixture.expected) {
      for (const { kind, messageId } of expected.flagged) {
        // A message lost in an outbox exists only as an attempt's outgoing id (no span of its own).
        if (!fixture.spans.some((span) => span.messageId === messageId)) continue;
        const history = await get(`/api/messages/${encodeURIComponent(messageId)}`);
        expect(history.messageId).toBe(messageId);
        expect(history.conversationIds).toEqual([expected.conversationId]);
        expect(history.message.messageId).toBe(messageId);
        expect(history.message.flags, `${messageId}`).toContain(kind);
        expect(history.anomalies.map((a: Anomaly) => a.kind)).toContain(kind);
        expect(history.traceIds.length).toBeGreaterThan(0);
      }
    }
  });

  it('judges a message in its flow when the indexer has not recorded the flow yet', async () => {
    const ghost = fixture.expected.find((flow) => flow.kinds.includes('ghost-message'))!;
    const { messageId } = ghost.flagged.find((flag) => flag.kind === 'ghost-message')!;
    const fresh = new DuckDbStore({ path: ':memory:' });
    await fresh.init();
    await fresh.insertSpans(fixture.spans.filter((span) => span.conversationId === ghost.conversationId));
    const unindexed = await createApp({
      store: fresh,
      logger: silentLogger(),
      clock: () => NOW,
      quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS,
    });
    try {
      const history = (await unindexed.inject({ method: 'GET', url: `/api/messages/${encodeURIComponent(messageId)}` })).json();
      expect(history.message.flags).toContain('ghost-message');
      expect(history.anomalies.map((a: Anomaly) => a.kind)).toContain('ghost-message');
    } finally {
      await unindexed.close();
      await fresh.close();
    }
  });

  it('answers 404 for an unknown message', async () => {
    await get('/api/messages/no-such-message', 404);
  });

  it('describes a message whose spans carry no conversation (stored before conversations were derived)', async () => {
    // producer ─ m-bare ─> consumer #1, #2 (redelivered)   no conversation id on any span
    const producer = send({ service: 'legacy-producer', messageId: 'm-bare', messageType: 'Legacy', destination: 'q', atMs: NOW - 60_000 });
    const deliveries = [1, 2].map((n) => attempt({ parent: producer, service: 'legacy-consumer', atMs: NOW - 60_000 + n * 100 }));
    const bare = [producer, ...deliveries].map((span) => ({ ...span, conversationId: '' }));
    const fresh = new DuckDbStore({ path: ':memory:' });
    await fresh.init();
    await fresh.insertSpans(bare);
    const plain = await createApp({ store: fresh, logger: silentLogger(), clock: () => NOW, quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS });
    try {
      const response = await plain.inject({ method: 'GET', url: '/api/messages/m-bare' });
      expect(response.statusCode, response.body).toBe(200);
      const history = response.json();
      expect(history.conversationIds).toEqual([]);
      expect(history.message.deliveries.map((d: { service: string }) => d.service)).toEqual(['legacy-consumer', 'legacy-consumer']);
      expect(history.anomalies.map((a: Anomaly) => a.kind)).toEqual(['duplicate-delivery']);
    } finally {
      await plain.close();
      await fresh.close();
    }
  });
});

describe('GET /api/search', () => {
  it('resolves conversation id, message id, idempotency key, trace id and business key to the flow', async () => {
    const expected = fixture.expected.find((flow) => flow.flagged.length > 0)!;
    const span = fixture.spans.find((s) => s.conversationId === expected.conversationId)!;
    const queries = [expected.conversationId, expected.flagged[0].messageId, expected.idempotencyKey, span.traceId, expected.businessKey];
    for (const q of queries) {
      const result = await get<{ flows: FlowSummary[] }>(`/api/search?q=${encodeURIComponent(q)}`);
      expect(
        result.flows.map((flow) => flow.conversationId),
        q,
      ).toEqual([expected.conversationId]);
    }
  });

  it('finds nothing for an unknown value', async () => {
    expect((await get('/api/search?q=order-does-not-exist')).flows).toEqual([]);
  });
});

describe('GET /api/anomalies', () => {
  it('lists the anomalies of the window, each naming kind, message, service and detail', async () => {
    const { anomalies } = await get<{ anomalies: Anomaly[] }>('/api/anomalies?limit=1000');
    anomalies.forEach(expectAnomalyShape);
    const kinds = new Set(anomalies.map((a) => a.kind));
    for (const expected of fixture.expected) for (const kind of expected.kinds) expect(kinds).toContain(kind);
  });

  it('filters by kind and service', async () => {
    const { anomalies } = await get<{ anomalies: Anomaly[] }>('/api/anomalies?kind=duplicate-processing');
    expect(anomalies.length).toBeGreaterThan(0);
    expect(new Set(anomalies.map((a) => a.kind))).toEqual(new Set(['duplicate-processing']));
    const service = anomalies[0].service;
    const byService = await get<{ anomalies: Anomaly[] }>(`/api/anomalies?service=${encodeURIComponent(service)}`);
    expect(byService.anomalies.length).toBeGreaterThan(0);
    expect(new Set(byService.anomalies.map((a) => a.service))).toEqual(new Set([service]));
  });
});

describe('parameter validation', () => {
  it.each([
    ['/api/flows?from=yesterday', 'from'],
    ['/api/flows?to=2026-99-01', 'to'],
    [`/api/flows?from=${NOW}&to=${NOW - 1}`, 'from'],
    ['/api/flows?limit=0', 'limit'],
    ['/api/flows?limit=abc', 'limit'],
    ['/api/flows?limit=501', 'limit'],
    ['/api/flows?anomaly=sneaky', 'anomaly'],
    ['/api/flows?complete=maybe', 'complete'],
    ['/api/flows?state=done', 'state'],
    ['/api/flows?service=a&service=b', 'service'],
    ['/api/flows?q=', 'q'],
    [`/api/flows?messageType=${'x'.repeat(600)}`, 'messageType'],
    ['/api/flows?cursor=%00', 'cursor'],
    ['/api/flows/conv-x?offset=-1', 'offset'],
    ['/api/flows/conv-x?limit=100000', 'limit'],
    ['/api/flows/%01', 'conversationId'],
    ['/api/messages/%00', 'messageId'],
    ['/api/search', 'q'],
    ['/api/search?q=x&limit=1000', 'limit'],
    ['/api/anomalies?kind=lost', 'kind'],
    ['/api/anomalies?limit=-3', 'limit'],
    ['/api/storms?step=1ms', 'step'],
    ['/api/storms?from=x', 'from'],
    ['/api/trends?by=team', 'by'],
    [`/api/trends?step=1s&from=${NOW - 86_400_000}&to=${NOW}`, 'step'],
    ['/api/topology?to=tomorrow', 'to'],
  ])('%s → 400 naming %s', async (url, parameter) => {
    const body = await get(url, 400);
    expect(body.parameter).toBe(parameter);
    expect(body.error).toContain(parameter);
  });

  it('answers unknown API paths with a JSON 404', async () => {
    expect(await get('/api/nothing-here', 404)).toMatchObject({ parameter: null });
  });
});

describe('dashboard hosting', () => {
  it('says how to build the dashboard when it is not built', async () => {
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('npm run build');
  });
});
