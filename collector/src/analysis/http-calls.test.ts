/**
 * A keyless request executed again by one attempt is a duplicate processing of the attempt's
 * message; the same calls with an idempotency key, answered with an error, or made by two
 * different attempts are not. Drawn as billing's attempt at a BillCustomer calling the payment
 * provider; times are offsets in ms from T0, judged long after the quiet period.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { startMsOf } from '../model/span-roles.js';
import type { SpanRow } from '../model/span.js';
import { attempt, httpClient, resetSpanIds, send } from '../../test/span-builders.js';
import { reconstructFlow } from './reconstruct-flow.js';

const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const conversationId = 'conv-http';
const URL_KEYLESS = 'http://127.0.0.1:7001/charges';

beforeEach(() => resetSpanIds());

function duplicateProcessings(spans: SpanRow[]) {
  const flow = reconstructFlow(spans, { now: T0 + 10 * 60_000, quietPeriodMs: 60_000 });
  return flow.anomalies.filter((a) => a.kind === 'duplicate-processing');
}

/** orders sends BillCustomer; billing processes it in one attempt (from 10 ms, 500 ms long). */
function billingAttempt(attemptNumber = 1, atMs = T0 + 10) {
  const bill = send({
    service: 'orders',
    messageId: 'bill-1',
    messageType: 'BillCustomer',
    destination: 'billing',
    atMs: T0,
    conversationId,
  });
  const consume = attempt({ service: 'billing', parent: bill, atMs, durationMs: 500, attempt: attemptNumber, outcome: 'processed' });
  return { bill, consume };
}

/** `statuses` tries of one request made by `parent`, 20 ms into it and 50 ms apart (0: no answer). */
function tries(parent: SpanRow, statuses: number[], spec: { url?: string; method?: string; idempotencyKey?: string } = {}): SpanRow[] {
  return statuses.map((statusCode, i) =>
    httpClient({
      service: 'billing',
      parent,
      url: spec.url ?? URL_KEYLESS,
      method: spec.method,
      idempotencyKey: spec.idempotencyKey,
      statusCode,
      atMs: startMsOf(parent) + 20 + i * 50,
      durationMs: 10,
    }),
  );
}

describe('a keyless request executed twice', () => {
  it('is a duplicate processing of the calling attempt: a lost answer, then a success', () => {
    const { bill, consume } = billingAttempt();
    const found = duplicateProcessings([bill, consume, ...tries(consume, [0, 200])]);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ messageId: 'bill-1', service: 'billing', severity: 'error' });
    expect(found[0].detail).toContain('POST /charges');
    expect(found[0].detail).toContain('without an idempotency key');
    expect(found[0].detail).toContain('1 of them left without an answer');
  });

  it('is one as well when both tries were answered (sent twice on purpose or not, executed twice)', () => {
    const { bill, consume } = billingAttempt();
    expect(duplicateProcessings([bill, consume, ...tries(consume, [200, 201])])).toHaveLength(1);
  });

  it.each([
    {
      name: 'the tries carry an idempotency key (the callee replays)',
      spans: (c: SpanRow) => tries(c, [0, 200], { idempotencyKey: 'k1' }),
    },
    { name: 'the method is idempotent (PUT)', spans: (c: SpanRow) => tries(c, [0, 200], { method: 'PUT' }) },
    { name: 'the earlier try was refused (5xx, 4xx): not executed', spans: (c: SpanRow) => tries(c, [503, 409, 200]) },
    { name: 'no try succeeded', spans: (c: SpanRow) => tries(c, [0, 0]) },
    { name: 'a single try', spans: (c: SpanRow) => tries(c, [200]) },
    {
      name: 'the two requests went to different targets',
      spans: (c: SpanRow) => [...tries(c, [0]), ...tries(c, [200], { url: 'http://127.0.0.1:7001/refunds' })],
    },
  ])('is not claimed when $name', ({ spans }) => {
    const { bill, consume } = billingAttempt();
    expect(duplicateProcessings([bill, consume, ...spans(consume)])).toEqual([]);
  });

  it('is not claimed across two attempts (each sent it once: a retry of the message, judged by the message detectors)', () => {
    const { bill, consume } = billingAttempt(1);
    const failed = { ...consume, outcome: 'retry_scheduled' as const, statusCode: 'error' as const };
    const again = attempt({ service: 'billing', parent: bill, atMs: T0 + 1_000, durationMs: 500, attempt: 2, outcome: 'processed' });
    expect(duplicateProcessings([bill, failed, again, ...tries(failed, [0]), ...tries(again, [200])])).toEqual([]);
  });
});
