/**
 * No input can change the meaning of a query: injection attempts through every parameter of
 * every endpoint, on the DuckDB store and (when the server is reachable; required in CI) the
 * ClickHouse store. Each answer is 200 with no rows it should not have, 400, or 404 — never
 * 500 — and the stored data is unchanged afterwards.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANOMALY_FLOWS_QUIET_PERIOD_MS, buildAnomalyFlows } from '../../test/fixtures/anomaly-flows.js';
import type { SpanStore } from '../store/span-store.js';
import { indexedApp, storesUnderTest, type IndexedApp } from '../../test/api-stores.js';

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
const fixture = buildAnomalyFlows(NOW);
const knownConversations = new Set(fixture.expected.map((flow) => flow.conversationId));

const PAYLOADS = [
  "' OR 1=1 --",
  "\\' OR 1=1 --",
  "' OR ''='",
  "'; DROP TABLE spans; --",
  '") OR ("1"="1',
  '%',
  '_',
  '%%',
  'conv-%',
  'conv-healthy%',
  'conv-healthy_',
  '\\',
  '\\\\',
  "\\'",
  'a\u0000b',
  '\u0000',
  'ünïcødé ✓ 🚀 ﷽',
  '*',
  "1' UNION SELECT * FROM spans --",
  "conv-healthy' OR conversation_id != '",
];

/** Every string-valued parameter, as a URL taking the payload. */
const TARGETS: { name: string; url: (p: string) => string; list?: (body: any) => string[] }[] = [
  { name: 'flows q', url: (p) => `/api/flows?q=${enc(p)}`, list: flowIds },
  { name: 'flows service', url: (p) => `/api/flows?service=${enc(p)}`, list: flowIds },
  { name: 'flows messageType', url: (p) => `/api/flows?messageType=${enc(p)}`, list: flowIds },
  { name: 'flows anomaly', url: (p) => `/api/flows?anomaly=${enc(p)}`, list: flowIds },
  { name: 'flows state', url: (p) => `/api/flows?state=${enc(p)}`, list: flowIds },
  { name: 'flows complete', url: (p) => `/api/flows?complete=${enc(p)}`, list: flowIds },
  { name: 'flows limit', url: (p) => `/api/flows?limit=${enc(p)}`, list: flowIds },
  { name: 'flows from', url: (p) => `/api/flows?from=${enc(p)}`, list: flowIds },
  { name: 'flows to', url: (p) => `/api/flows?to=${enc(p)}`, list: flowIds },
  { name: 'flows cursor', url: (p) => `/api/flows?cursor=${enc(p)}`, list: flowIds },
  { name: 'flow id', url: (p) => `/api/flows/${enc(p)}` },
  { name: 'flow offset', url: (p) => `/api/flows/conv-healthy?offset=${enc(p)}` },
  { name: 'message id', url: (p) => `/api/messages/${enc(p)}` },
  { name: 'search q', url: (p) => `/api/search?q=${enc(p)}`, list: flowIds },
  { name: 'anomalies kind', url: (p) => `/api/anomalies?kind=${enc(p)}`, list: anomalyConversations },
  { name: 'anomalies service', url: (p) => `/api/anomalies?service=${enc(p)}`, list: anomalyConversations },
  { name: 'storms step', url: (p) => `/api/storms?step=${enc(p)}` },
  { name: 'trends by', url: (p) => `/api/trends?by=${enc(p)}` },
  { name: 'trends step', url: (p) => `/api/trends?step=${enc(p)}` },
  { name: 'topology from', url: (p) => `/api/topology?from=${enc(p)}` },
];

/** A well-formed cursor carrying the payload where the stores put a conversation id. */
const craftedCursor = (payload: string) => Buffer.from(JSON.stringify([NOW, payload]), 'utf8').toString('base64url');

function enc(value: string): string {
  return encodeURIComponent(value);
}
function flowIds(body: { flows: { conversationId: string }[] }): string[] {
  return body.flows.map((flow) => flow.conversationId);
}
function anomalyConversations(body: { anomalies: { conversationId: string }[] }): string[] {
  return body.anomalies.map((anomaly) => anomaly.conversationId);
}

describe.each(await storesUnderTest())('injection attempts on the $name store', ({ enabled, open }) => {
  let loaded: IndexedApp;
  let store: SpanStore;
  let app: FastifyInstance;
  let spanCount: number;
  let flowCount: number;

  beforeAll(async () => {
    if (!enabled) return;
    loaded = await indexedApp(open(), fixture.spans, { now: NOW, quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS });
    ({ store, app } = loaded);
    spanCount = await store.spanCount();
    flowCount = (await store.listFlows({ fromMs: NOW - 3_600_000, toMs: NOW + 1, limit: 500 })).total;
  });

  afterAll(async () => {
    await loaded?.close();
  });

  it.skipIf(!enabled).each(TARGETS)('$name: 200 without extra rows, 400 or 404 — never 500', async ({ url, list, name }) => {
    const filters = /q|service|messageType|search|message id|flow id/.test(name);
    for (const payload of PAYLOADS) {
      const response = await app.inject({ method: 'GET', url: url(payload) });
      const where = `${url(payload)} → ${response.statusCode} ${response.body.slice(0, 200)}`;
      expect([200, 400, 404], where).toContain(response.statusCode);
      if (response.statusCode !== 200) expect(typeof response.json().error, where).toBe('string');
      if (response.statusCode !== 200 || !list) continue;
      const ids = list(response.json());
      // A filter by a value no flow has finds nothing; nothing else may find an unknown flow.
      if (filters) expect(ids, where).toEqual([]);
      for (const id of ids) expect(knownConversations.has(id), where).toBe(true);
    }
  });

  it.skipIf(!enabled)('a well-formed cursor carrying an injection pages normally or is refused', async () => {
    for (const payload of PAYLOADS) {
      const response = await app.inject({ method: 'GET', url: `/api/flows?limit=500&cursor=${craftedCursor(payload)}` });
      const where = `${payload} → ${response.statusCode} ${response.body.slice(0, 200)}`;
      expect([200, 400], where).toContain(response.statusCode);
      if (response.statusCode !== 200) continue;
      const ids = flowIds(response.json());
      // Flows after (NOW, payload) in the list order: those starting before NOW, at most all of them.
      expect(ids.length, where).toBeLessThanOrEqual(flowCount);
      for (const id of ids) expect(knownConversations.has(id), where).toBe(true);
    }
  });

  it.skipIf(!enabled)('leaves the stored data unchanged', async () => {
    expect(await store.spanCount()).toBe(spanCount);
    expect((await store.listFlows({ fromMs: NOW - 3_600_000, toMs: NOW + 1, limit: 500 })).total).toBe(flowCount);
    expect(spanCount).toBe(fixture.spans.length);
  });
});
