/**
 * `GET /api/messages/:messageId` for a message that no span carries as its own id: committed to
 * an outbox that was never dispatched, it exists only among an attempt's outgoing message ids.
 * The store returns that attempt (`spansOfMessage` includes the spans listing the id), so the
 * route answers with the message, its producer and the lost-message anomaly instead of 404. On
 * the DuckDB store and (when the server is reachable; required in CI) the ClickHouse store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANOMALY_FLOWS_QUIET_PERIOD_MS, buildAnomalyFlows } from '../../test/fixtures/anomaly-flows.js';
import type { Anomaly } from '../model/flow.js';
import { indexedApp, storesUnderTest, type IndexedApp } from '../../test/api-stores.js';

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
const fixture = buildAnomalyFlows(NOW);
const lostFlow = fixture.expected.find((flow) => flow.kinds.includes('lost-message'))!;
const lostId = lostFlow.flagged.find((flag) => flag.kind === 'lost-message')!.messageId;
const producers = fixture.spans.filter((span) => span.outgoingMessageIds.includes(lostId));

describe.each(await storesUnderTest())('a message only in outgoing ids, on the $name store', ({ enabled, open }) => {
  let loaded: IndexedApp;

  beforeAll(async () => {
    if (enabled)
      loaded = await indexedApp(open(), fixture.spans, { now: NOW, quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS, appIndexer: true });
  });

  afterAll(async () => {
    await loaded?.close();
  });

  it('is a fixture message no span carries, listed by one attempt', () => {
    expect(fixture.spans.some((span) => span.messageId === lostId)).toBe(false);
    expect(producers).toHaveLength(1);
  });

  it.skipIf(!enabled)('answers with the message, its producing attempt and the lost-message anomaly', async () => {
    const response = await loaded.app.inject({ method: 'GET', url: `/api/messages/${encodeURIComponent(lostId)}` });
    expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
    const history = response.json();
    expect(history.messageId).toBe(lostId);
    expect(history.conversationIds).toEqual([lostFlow.conversationId]);
    expect(history.traceIds).toEqual([producers[0].traceId]);
    expect(history.spanCount).toBe(1);
    expect(history.message).toMatchObject({ messageId: lostId, producer: producers[0].service, sends: [], deliveries: [], status: 'lost' });
    expect(history.message.flags).toContain('lost-message');
    expect(history.anomalies.map((anomaly: Anomaly) => [anomaly.kind, anomaly.messageId])).toEqual([['lost-message', lostId]]);
  });
});
