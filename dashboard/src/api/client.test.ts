/**
 * The API client against the collector's contract: a real collector's answers pass validation
 * unchanged (so the contract declares every field the collector sends), and an answer of another
 * shape becomes an `unexpected-shape` ApiError naming the endpoint and the fields at fault.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlowPageSchema } from '@onceflow/collector/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANOMALY_FLOWS_QUIET_PERIOD_MS, buildAnomalyFlows } from '../../../collector/test/fixtures/anomaly-flows.js';
import { startSeededCollector, type SeededCollector } from '../../test/seeded-collector.js';
import { buildStormTraffic } from '../../test/storm-traffic.js';
import { ApiError, createApi, parseResponse, type Api } from './client.js';

describe('against a real collector', () => {
  const now = Date.now();
  const fixtures = buildAnomalyFlows(now);
  const timeWindow = { fromMs: now - 3_600_000, toMs: now + 60_000 };
  const lost = fixtures.expected.find((flow) => flow.kinds.includes('lost-message'))!;
  const stormTraffic = buildStormTraffic(now);
  let collector: SeededCollector;
  let api: Api;

  beforeAll(async () => {
    collector = await startSeededCollector([...fixtures.spans, ...stormTraffic.spans], {
      now,
      quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS,
    });
    api = createApi(collector.url);
  });

  afterAll(async () => {
    await collector?.close();
  });

  const raw = async (path: string) => (await fetch(`${collector.url}${path}`)).json();
  const range = `from=${timeWindow.fromMs}&to=${timeWindow.toMs}`;

  // Each call's result must equal the raw JSON: zod drops keys a schema does not declare, so a
  // field the collector sends but the contract lacks fails here.
  it.each([
    ['health', '/api/health', () => api.health()],
    ['flows', `/api/flows?${range}&limit=100`, () => api.flows({ timeWindow, filters: {}, limit: 100 })],
    ['flow', `/api/flows/${lost.conversationId}?offset=0&limit=2000`, () => api.flow(lost.conversationId, { offset: 0, limit: 2000 })],
    ['message', `/api/messages/${lost.flagged[0].messageId}`, () => api.message(lost.flagged[0].messageId)],
    ['search', `/api/search?q=${lost.businessKey}`, () => api.search(lost.businessKey)],
    ['anomalies', `/api/anomalies?${range}`, () => api.anomalies(timeWindow, {})],
    ['storms', `/api/storms?${range}&step=60000`, () => api.storms(timeWindow, 60_000)],
    ['trends', `/api/trends?${range}&step=60000&by=messageType`, () => api.trends(timeWindow, 60_000, 'messageType')],
    ['topology', `/api/topology?${range}`, () => api.topology(timeWindow)],
    ['coverage', `/api/coverage?${range}`, () => api.coverage(timeWindow)],
  ])('%s: the answer passes the contract unchanged', async (_name, path, call) => {
    const [parsed, body] = await Promise.all([call(), raw(path)]);
    expect(parsed).toEqual(body);
  });

  it('sees every part of the contract in the seeded answers', async () => {
    // Guards the test above against passing on empty lists.
    const [flows, flow, storms, topology, coverage] = await Promise.all([
      api.flows({ timeWindow, filters: {}, limit: 100 }),
      api.flow(lost.conversationId, { offset: 0, limit: 2000 }),
      api.storms(timeWindow, 60_000),
      api.topology(timeWindow),
      api.coverage(timeWindow),
    ]);
    expect(flows.flows.length).toBe(fixtures.expected.length + stormTraffic.burstConversations.length);
    expect(flow.messages.some((message) => message.status === 'lost')).toBe(true);
    expect(flow.httpCalls.length).toBeGreaterThan(0);
    expect(storms.storms.map((storm) => storm.topKeys[0].messageId)).toContain('storm-order-billed');
    expect(storms.learning.length).toBeGreaterThan(0);
    expect(topology.edges.map((edge) => edge.kind)).toEqual(expect.arrayContaining(['send', 'consume', 'http']));
    expect(coverage.services.some((service) => service.endpoints.length > 0 && service.unknownVerdicts.length > 0)).toBe(true);
  });

  it('passes the collector’s own error message through', async () => {
    const error = await api.flow('no-such-conversation', { offset: 0, limit: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ kind: 'not-found', status: 404, message: 'no spans of conversation "no-such-conversation"' });
  });
});

describe('against a collector answering another shape', () => {
  // A real HTTP server answering each path with a fixed body, as a collector of another version might.
  const answers = new Map<string, { status: number; body: string }>();
  let server: Server;
  let api: Api;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const answer = answers.get(new URL(request.url!, 'http://x').pathname) ?? { status: 404, body: '{}' };
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    api = createApi(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const flowSummary = {
    conversationId: 'c-1',
    startMs: 1,
    endMs: 2,
    durationMs: 1,
    complete: true,
    state: 'complete',
    services: ['orders'],
    messageTypes: ['SubmitOrder'],
    rootType: 'SubmitOrder',
    messageCount: 1,
    spanCount: 2,
    idempotencyKeys: [],
    businessKeys: [],
    anomalyCounts: {},
    worstSeverity: null,
    ledger: Object.fromEntries(
      ['noDuplicateProcessing', 'noGhost', 'noLost', 'consistentOutput'].map((invariant) => [
        invariant,
        { verdict: 'held', evidence: [], reason: '' },
      ]),
    ),
    verdict: 'held',
  };
  const flowList = { fromMs: 0, toMs: 10, flows: [flowSummary], nextCursor: null, anomalyCounts: {}, total: 1 };
  const timeWindow = { fromMs: 0, toMs: 10 };

  it('accepts the expected shape', async () => {
    answers.set('/api/flows', { status: 200, body: JSON.stringify(flowList) });
    expect(await api.flows({ timeWindow, filters: {} })).toEqual(flowList);
  });

  it.each([
    ['an unknown flow state', { ...flowList, flows: [{ ...flowSummary, state: 'finished' }] }, ['flows.0.state']],
    ['a missing total', { ...flowList, total: undefined }, ['total']],
    ['a count sent as text', { ...flowList, anomalyCounts: { retry: '3' } }, ['anomalyCounts.retry']],
    ['an unknown anomaly kind', { ...flowList, anomalyCounts: { 'double-billing': 1 } }, ['anomalyCounts']],
    ['a list instead of a page', [flowSummary], ['the response']],
  ])('refuses %s, naming the endpoint and the field', async (_case, body, fields) => {
    answers.set('/api/flows', { status: 200, body: JSON.stringify(body) });
    const error = await api.flows({ timeWindow, filters: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe('unexpected-shape');
    expect((error as ApiError).message).toMatch(/^The collector answered \/api\/flows with an unexpected shape: /);
    for (const field of fields) expect((error as ApiError).message).toContain(`${field}: `);
  });

  it('refuses an answer that is not JSON', async () => {
    answers.set('/api/topology', { status: 200, body: '<html>proxy page</html>' });
    const error = await api.topology(timeWindow).catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'unexpected-shape',
      message: 'The collector answered /api/topology with something that is not JSON.',
    });
  });

  it('keeps the status line when an error body is not the API’s error shape', async () => {
    answers.set('/api/health', { status: 500, body: JSON.stringify({ message: 'boom' }) });
    const error = await api.health().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'server', status: 500, message: '500 Internal Server Error' });
  });
});

describe('parseResponse', () => {
  it('lists at most three issues and counts the rest', () => {
    const body = { flows: 1, nextCursor: 2, anomalyCounts: 3, total: 'four' };
    expect(() => parseResponse('/api/flows?limit=1', FlowPageSchema, body)).toThrow(
      /^The collector answered \/api\/flows with an unexpected shape: flows: .*; nextCursor: .*; anomalyCounts: .*; and 1 more\.$/,
    );
  });
});
