/**
 * The shared fixture conversations (collector/test/fixtures/anomaly-flows.ts) analyse to
 * exactly the kinds, states and flagged messages they promise the other test suites.
 */
import { describe, expect, it } from 'vitest';
import { ANOMALY_FLOWS_QUIET_PERIOD_MS, ANOMALY_FLOWS_SUBSCRIPTIONS, buildAnomalyFlows } from '../../test/fixtures/anomaly-flows.js';
import { ANOMALY_KINDS } from '../model/flow.js';
import { DETECTORS, detectAnomalies } from './anomalies.js';
import { buildConversationModel } from './conversation-model.js';
import { reconstructFlow } from './reconstruct-flow.js';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const { spans, expected, exportedUntil } = buildAnomalyFlows(NOW);
const OPTIONS = { now: NOW, quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS, subscriptions: ANOMALY_FLOWS_SUBSCRIPTIONS, exportedUntil };

describe.each(expected)('fixture flow $conversationId ($title)', (flow) => {
  const own = spans.filter((s) => s.conversationId === flow.conversationId);
  const result = reconstructFlow(own, OPTIONS);

  it('has exactly the expected anomaly kinds', () => {
    expect([...new Set(result.anomalies.map((a) => a.kind))].sort()).toEqual(flow.kinds);
  });

  it(`is ${flow.state}`, () => {
    expect(result.state).toBe(flow.state);
  });

  it(`has the overall verdict ${flow.verdict}`, () => {
    expect(result.verdict, JSON.stringify(result.ledger)).toBe(flow.verdict);
  });

  it('flags the listed messages', () => {
    for (const { kind, messageId } of flow.flagged) {
      const message = result.messages.find((m) => m.messageId === messageId);
      expect(message?.flags, `${kind} on ${messageId}`).toContain(kind);
    }
  });

  it('carries its business and idempotency keys', () => {
    expect(result.businessKeys).toContain(flow.businessKey);
    expect(result.idempotencyKeys).toContain(flow.idempotencyKey);
  });
});

describe.each(expected)('detectors on $conversationId', ({ conversationId }) => {
  const own = spans.filter((s) => s.conversationId === conversationId);
  const options = OPTIONS;

  it.each(ANOMALY_KINDS)('the %s detector reports only its own kind', (kind) => {
    const found = DETECTORS[kind](buildConversationModel(own, options));
    expect(found.every((a) => a.kind === kind)).toBe(true);
  });

  it('detectAnomalies is the union of the detectors', () => {
    const all = ANOMALY_KINDS.flatMap((kind) => DETECTORS[kind](buildConversationModel(own, options)));
    expect(detectAnomalies(buildConversationModel(own, options))).toHaveLength(all.length);
  });
});

describe('fixture layout', () => {
  it('is deterministic for the same now', () => {
    const again = buildAnomalyFlows(NOW);
    expect(again.spans.map((s) => `${s.traceId}/${s.spanId}`)).toEqual(spans.map((s) => `${s.traceId}/${s.spanId}`));
  });

  it('has unique span identities', () => {
    expect(new Set(spans.map((s) => `${s.traceId}/${s.spanId}`)).size).toBe(spans.length);
  });

  it('covers every anomaly kind', () => {
    const kinds = new Set(expected.flatMap((f) => f.kinds));
    expect([...kinds].sort()).toEqual([...ANOMALY_KINDS].sort());
  });

  it('lies within the last hour', () => {
    for (const span of spans) {
      const ms = Number(span.startNs / 1_000_000n);
      expect(ms).toBeGreaterThan(NOW - 3_600_000);
      expect(ms).toBeLessThan(NOW);
    }
  });
});
