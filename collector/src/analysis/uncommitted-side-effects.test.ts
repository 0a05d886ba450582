/**
 * A charge made by attempts that never committed, of a message that is then dead-lettered (or
 * given up), is an uncommitted side effect; the same calls are not one when they only read,
 * were refused, or a later attempt committed, nor while an attempt may still come or a
 * committed one may be missing. Drawn as billing's attempts at a BillCustomer calling the
 * payment provider:
 *
 *   orders ── BillCustomer ──> billing #1 retry_scheduled ==> PUT, POST /charges/k1
 *                          └─> billing #2 retry_scheduled ==> PUT, POST /charges/k1
 *                          └─> billing #3 dead_lettered   ==> PUT, POST /charges/k1
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Outcome } from '@onceflow/instrumentation/semconv';
import { startMsOf } from '../model/span-roles.js';
import type { SpanRow } from '../model/span.js';
import { attempt, httpClient, makeSpan, resetSpanIds, send } from '../../test/span-builders.js';
import { reconstructFlow } from './reconstruct-flow.js';

const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const QUIET_MS = 60_000;
const LATER = T0 + 10 * 60_000;
const URL_CHARGE = 'http://payments.example/charges/k1';

beforeEach(() => resetSpanIds());

function sideEffects(spans: SpanRow[], now = LATER) {
  const flow = reconstructFlow(spans, { now, quietPeriodMs: QUIET_MS });
  return flow.anomalies.filter((a) => a.kind === 'uncommitted-side-effect');
}

interface Try {
  attempt: number;
  outcome: Outcome;
  /** Calls as [method, status]; PUT then POST answered 200 by default. */
  calls?: [string, number][];
}

/** orders sends BillCustomer; billing tries it as listed, 1 s apart, each try calling the provider. */
function billing(tries: Try[]): SpanRow[] {
  const bill = send({ service: 'orders', messageId: 'bill-1', messageType: 'BillCustomer', destination: 'billing', atMs: T0 });
  const spans = [bill];
  for (const [i, t] of tries.entries()) {
    const failed = t.outcome !== 'processed';
    const consume = attempt({
      service: 'billing',
      parent: bill,
      atMs: T0 + 10 + i * 1_000,
      durationMs: 300,
      attempt: t.attempt,
      outcome: t.outcome,
      error: failed ? 'cannot record the charge' : undefined,
      retryDelayMs: t.outcome === 'retry_scheduled' ? 500 : undefined,
    });
    spans.push(consume);
    const calls = t.calls ?? [
      ['PUT', 200],
      ['POST', 200],
    ];
    for (const [j, [method, statusCode]] of calls.entries()) {
      spans.push(
        httpClient({
          service: 'billing',
          parent: consume,
          url: URL_CHARGE,
          peerService: 'payment-provider',
          method,
          statusCode,
          atMs: startMsOf(consume) + 20 + j * 30,
          durationMs: 10,
        }),
      );
    }
  }
  return spans;
}

const deadLettered: Try[] = [
  { attempt: 1, outcome: 'retry_scheduled' },
  { attempt: 2, outcome: 'retry_scheduled' },
  { attempt: 3, outcome: 'dead_lettered' },
];

describe('calls of attempts that never committed', () => {
  it('are an uncommitted side effect of the dead-lettered message, about the attempt that called last', () => {
    const found = sideEffects(billing(deadLettered));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ messageId: 'bill-1', service: 'billing', severity: 'error', timeMs: T0 + 2_010 + 50 });
    expect(found[0].detail).toContain('dead-lettered at billing');
    expect(found[0].detail).toContain('attempts 1, 2 and 3 made 6 external calls');
    expect(found[0].detail).toContain('POST /charges/k1 → payment-provider 200 (attempt 3)');
    expect(found[0].detail).toContain('compensate');
  });

  it('count a call left without an answer (the callee may have executed it)', () => {
    const tries: Try[] = [{ attempt: 1, outcome: 'dead_lettered', calls: [['POST', 0]] }];
    expect(sideEffects(billing(tries))[0]?.detail).toContain('POST /charges/k1 → payment-provider no answer (attempt 1)');
  });

  it('are one once the flow is quiet and the last attempt failed with no retry scheduled', () => {
    const tries: Try[] = [{ attempt: 1, outcome: 'failed' }];
    expect(sideEffects(billing(tries))[0]?.detail).toContain('given up at billing');
  });
});

describe('near misses', () => {
  it.each([
    { name: 'the calls only read (GET)', tries: [{ attempt: 1, outcome: 'dead_lettered', calls: [['GET', 200]] }] as Try[] },
    {
      name: 'a later attempt committed',
      tries: [
        { attempt: 1, outcome: 'retry_scheduled' },
        { attempt: 2, outcome: 'processed' },
      ] as Try[],
    },
    { name: 'the callee refused (4xx)', tries: [{ attempt: 1, outcome: 'dead_lettered', calls: [['POST', 409]] }] as Try[] },
    {
      name: 'attempt 2 left no span (it may have committed)',
      tries: [
        { attempt: 1, outcome: 'retry_scheduled' },
        { attempt: 3, outcome: 'dead_lettered' },
      ] as Try[],
    },
  ])('$name: not reported', ({ tries }) => {
    expect(sideEffects(billing(tries))).toEqual([]);
  });

  it('the flow is still active and the last attempt failed: not reported yet', () => {
    const tries: Try[] = [{ attempt: 1, outcome: 'failed' }];
    expect(sideEffects(billing(tries), T0 + 5_000)).toEqual([]);
    expect(sideEffects(billing(tries))).toHaveLength(1);
  });

  it('a retry is scheduled last (it may still commit, or be the span missing): not reported', () => {
    expect(sideEffects(billing(deadLettered.slice(0, 2)))).toEqual([]);
  });

  it('a span of the flow lost its parent (a committed attempt may be among the missing): not reported', () => {
    const orphan = makeSpan({ service: 'billing', parentSpanId: 'ffffffffffffffff', startNs: BigInt(T0 + 50) * 1_000_000n });
    const spans = billing(deadLettered);
    orphan.traceId = spans[0].traceId;
    expect(sideEffects([...spans, orphan])).toEqual([]);
  });
});

/**
 * billing consumes two messages of one trace at once (two queues), their attempts overlapping:
 *
 *   orders ─┬─ first ──> billing (processed, 0.5 s)    ─ ─ the call's parent when `caller` is 'processed'
 *           └─ second ─> billing (dead-lettered, 0.3 s) ─ ─ the call's parent when `caller` is 'dead-lettered'
 *
 * The POST is inside both attempts' time; only the span tree tells which made it.
 */
function overlapping(first: 'audit' | 'bill', caller: 'processed' | 'dead-lettered'): SpanRow[] {
  const root = makeSpan({ service: 'orders', startNs: BigInt(T0) * 1_000_000n });
  const message = (id: string, atMs: number) =>
    send({ service: 'orders', parent: root, messageId: `${id}-1`, messageType: id, destination: `billing-${id}`, atMs });
  const [audit, bill] =
    first === 'audit' ? [message('audit', T0 + 1), message('bill', T0 + 2)] : [message('audit', T0 + 2), message('bill', T0 + 1)];
  const processed = attempt({ service: 'billing', parent: audit, atMs: T0 + 5, durationMs: 500, attempt: 1, outcome: 'processed' });
  const deadLettered = attempt({
    service: 'billing',
    parent: bill,
    atMs: T0 + 10,
    durationMs: 300,
    attempt: 1,
    outcome: 'dead_lettered',
    error: 'cannot record the charge',
  });
  const call = httpClient({
    service: 'billing',
    parent: caller === 'processed' ? processed : deadLettered,
    url: URL_CHARGE,
    peerService: 'payment-provider',
    method: 'POST',
    statusCode: 200,
    atMs: T0 + 40,
    durationMs: 10,
  });
  return [root, audit, bill, processed, deadLettered, call];
}

describe('the attempt that made a call, by the span tree', () => {
  it.each(['audit', 'bill'] as const)('a charge made by the dead-lettered attempt is found, whichever message came first (%s)', (first) => {
    const found = sideEffects(overlapping(first, 'dead-lettered'));
    expect(found).toHaveLength(1);
    expect(found[0].messageId).toBe('bill-1');
  });

  it.each(['audit', 'bill'] as const)(
    'near-miss: the processed attempt made it while the dead-lettered one ran (%s first): none',
    (first) => {
      expect(sideEffects(overlapping(first, 'processed'))).toEqual([]);
    },
  );
});
