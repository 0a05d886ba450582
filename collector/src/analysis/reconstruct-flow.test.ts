/**
 * Flow reconstruction: messages and deliveries, HTTP calls, causation edges, state, summary
 * and paging. Anomaly rules are covered in anomalies.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { SpanRow } from '../model/span.js';
import { attempt, httpClient, httpServer, makeSpan, resetSpanIds, send } from '../../test/span-builders.js';
import { msToNs } from '../model/span.js';
import { analyzeConversation, reconstructFlow, summarizeFlow } from './reconstruct-flow.js';

const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const QUIET = 60_000;
const NOW = T0 + 10 * 60_000;
const at = (offsetMs: number) => T0 + offsetMs;
const conversationId = 'conv-1';
const options = { now: NOW, quietPeriodMs: QUIET };

beforeEach(() => resetSpanIds());

/**
 *   user ==> shop-api POST /orders                        (boundary, Idempotency-Key k-1)
 *              └─ SubmitOrder(submit-1) ─> orders #1 processed, outgoing [bill-1]
 *                                            └─ BillCustomer(bill-1) ─> billing #1 processed
 *                                                                        ├─ billing ==> payments-api POST /charges (server span seen)
 *                                                                        ├─ billing ==> fraud.example (no server span)
 *                                                                        └─ OrderBilled(billed-1) ─> shipping, marketing
 */
function shopFlow(): SpanRow[] {
  const request = httpServer({
    service: 'shop-api',
    route: '/orders',
    atMs: at(0),
    durationMs: 40,
    conversationId,
    idempotencyKey: 'k-1',
    businessKey: 'order-1',
  });
  const submit = send({ parent: request, messageId: 'submit-1', messageType: 'SubmitOrder', destination: 'orders', atMs: at(5) });
  const orders = attempt({ parent: submit, service: 'orders', outcome: 'processed', outgoing: ['bill-1'], atMs: at(50), durationMs: 30 });
  const bill = send({ parent: orders, messageId: 'bill-1', messageType: 'BillCustomer', destination: 'billing', atMs: at(70) });
  const billing = attempt({ parent: bill, service: 'billing', outcome: 'processed', atMs: at(100), durationMs: 200 });
  const charge = httpClient({
    parent: billing,
    service: 'billing',
    url: 'http://payments-api:8080/charges?x=1',
    atMs: at(110),
    statusCode: 201,
  });
  const chargeServer = httpServer({ parent: charge, service: 'payments-api', route: '/charges', atMs: at(112), statusCode: 201 });
  const fraud = httpClient({
    parent: billing,
    service: 'billing',
    method: 'GET',
    url: 'https://fraud.example/score',
    atMs: at(150),
    statusCode: 200,
  });
  const billed = send({ parent: billing, messageId: 'billed-1', messageType: 'OrderBilled', destination: 'order-events', atMs: at(280) });
  const shipping = attempt({ parent: billed, service: 'shipping', outcome: 'processed', atMs: at(320), durationMs: 20 });
  const marketing = attempt({ parent: billed, service: 'marketing', outcome: 'processed', atMs: at(330), durationMs: 20 });
  return [request, submit, orders, bill, billing, charge, chargeServer, fraud, billed, shipping, marketing];
}

describe('reconstructFlow on a healthy shop flow', () => {
  const spans = shopFlow();
  const flow = reconstructFlow([...spans].reverse(), options);
  const message = (id: string) => flow.messages.find((m) => m.messageId === id)!;

  it('lists each message once with its type, causation and producer', () => {
    expect(flow.messages.map((m) => m.messageId)).toEqual(['submit-1', 'bill-1', 'billed-1']);
    expect(message('bill-1')).toMatchObject({
      messageType: 'BillCustomer',
      causationId: 'submit-1',
      producer: 'orders',
      destination: 'billing',
      status: 'processed',
    });
  });

  it('keeps one delivery per endpoint for an event', () => {
    expect(message('billed-1').deliveries.map((d) => [d.service, d.attempt, d.outcome])).toEqual([
      ['shipping', 1, 'processed'],
      ['marketing', 1, 'processed'],
    ]);
  });

  it('matches client spans to server spans, and names the peer otherwise', () => {
    const calls = flow.httpCalls.map((c) => [c.client, c.server, c.method, c.target, c.statusCode]);
    expect(calls).toContainEqual(['billing', 'payments-api', 'POST', '/charges', 201]);
    expect(calls).toContainEqual(['billing', 'fraud.example', 'GET', '/score', 200]);
    expect(calls).toContainEqual(['', 'shop-api', 'POST', '/orders', 200]);
    expect(flow.httpCalls).toHaveLength(3);
  });

  it('draws causation from the boundary request through every message', () => {
    const boundary = flow.httpCalls.find((c) => c.client === '')!;
    expect(flow.edges).toEqual(
      expect.arrayContaining([
        { from: boundary.spanId, to: 'submit-1', via: 'http' },
        { from: 'submit-1', to: 'bill-1', via: 'message' },
        { from: 'bill-1', to: 'billed-1', via: 'message' },
      ]),
    );
    expect(flow.edges).toHaveLength(3);
  });

  it('summarizes the flow', () => {
    expect(flow).toMatchObject({
      conversationId,
      state: 'complete',
      complete: true,
      rootType: 'SubmitOrder',
      messageCount: 3,
      spanCount: spans.length,
      idempotencyKeys: ['k-1'],
      businessKeys: ['order-1'],
      anomalyCounts: {},
      worstSeverity: null,
      startMs: at(0),
      truncated: false,
    });
    expect(flow.services).toEqual(['billing', 'marketing', 'orders', 'payments-api', 'shipping', 'shop-api']);
    expect(flow.messageTypes).toEqual(['BillCustomer', 'OrderBilled', 'SubmitOrder']);
    expect(flow.endMs).toBeCloseTo(at(350), 3);
  });

  it('records sends with their producing attempt', () => {
    const billing = spans[4];
    expect(message('billed-1').sends).toEqual([
      expect.objectContaining({ service: 'billing', attemptSpanId: billing.spanId, fromFailedAttempt: false, destination: 'order-events' }),
    ]);
    expect(message('submit-1').sends[0].attemptSpanId).toBe('');
  });
});

describe('deliveries', () => {
  it('joins a redelivery in another trace by message id and reads errors, delays and redelivery flags', () => {
    const bill = send({ service: 'orders', messageId: 'bill-1', messageType: 'BillCustomer', atMs: at(0), conversationId });
    const first = attempt({
      parent: bill,
      service: 'billing',
      outcome: 'retry_scheduled',
      error: 'timeout',
      errorInEventOnly: true,
      retryDelayMs: 2500,
      atMs: at(10),
    });
    const second = attempt({ service: 'billing', messageId: 'bill-1', conversationId, attempt: 2, outcome: 'processed', atMs: at(3000) });
    const flow = reconstructFlow([bill, first, second], options);
    expect(second.traceId).not.toBe(first.traceId);
    expect(flow.messages).toHaveLength(1);
    expect(flow.messages[0].deliveries).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: 'retry_scheduled',
        error: 'timeout',
        retryDelayMs: 2500,
        redelivered: false,
        traceId: first.traceId,
      }),
      expect.objectContaining({
        attempt: 2,
        outcome: 'processed',
        error: '',
        retryDelayMs: null,
        redelivered: true,
        traceId: second.traceId,
      }),
    ]);
  });

  it('folds a nested span carrying the outcome into its consumer span', () => {
    //   consumer span (no outcome) └─ internal "handle" span: outcome processed, outgoing [x]
    const bill = send({ service: 'orders', messageId: 'bill-1', messageType: 'BillCustomer', atMs: at(0), conversationId });
    const consume = attempt({ parent: bill, service: 'billing', atMs: at(10), durationMs: 50 });
    const handle = makeSpan({
      traceId: consume.traceId,
      parentSpanId: consume.spanId,
      service: 'billing',
      conversationId,
      outcome: 'processed',
      outgoingMessageIds: ['x'],
      startNs: msToNs(at(20)),
    });
    const flow = reconstructFlow([bill, consume, handle], options);
    const deliveries = flow.messages.find((m) => m.messageId === 'bill-1')!.deliveries;
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ spanId: consume.spanId, outcome: 'processed' });
    expect(flow.edges).toContainEqual({ from: 'bill-1', to: 'x', via: 'message' });
  });

  it.each([
    {
      //   send ─> billing #1 retry_scheduled
      //             └─ BillCustomer(bill-1) republished to billing ─> billing #2 processed
      name: 'a retry republished by the failed attempt is a second delivery (RabbitMQ retries)',
      throughSend: true,
      deliveries: [
        [1, 'retry_scheduled'],
        [2, 'processed'],
      ],
      anomalies: ['retry'],
    },
    {
      //   send ─> billing #1 (no outcome) └─ billing "handle" #1 processed   (near miss: nested, one attempt)
      name: 'a span nested directly in the attempt is the same delivery',
      throughSend: false,
      deliveries: [[1, 'processed']],
      anomalies: [],
    },
  ])('$name', ({ throughSend, deliveries, anomalies }) => {
    const bill = send({
      service: 'orders',
      messageId: 'bill-1',
      messageType: 'BillCustomer',
      destination: 'billing',
      atMs: at(0),
      conversationId,
    });
    const first = throughSend
      ? attempt({
          parent: bill,
          service: 'billing',
          outcome: 'retry_scheduled',
          error: 'transient',
          retryDelayMs: 0,
          atMs: at(10),
          durationMs: 100,
        })
      : attempt({ parent: bill, service: 'billing', atMs: at(10), durationMs: 100 });
    const republish = send({ parent: first, messageId: 'bill-1', messageType: 'BillCustomer', destination: 'billing', atMs: at(20) });
    const inner = throughSend
      ? attempt({ parent: republish, service: 'billing', attempt: 2, outcome: 'processed', atMs: at(40) })
      : attempt({ parent: first, service: 'billing', messageId: 'bill-1', conversationId, outcome: 'processed', atMs: at(40) });
    const flow = reconstructFlow(throughSend ? [bill, first, republish, inner] : [bill, first, inner], options);
    const message = flow.messages.find((m) => m.messageId === 'bill-1')!;
    expect(message.deliveries.map((d) => [d.attempt, d.outcome])).toEqual(deliveries);
    expect(flow.anomalies.map((a) => a.kind)).toEqual(anomalies);
  });

  it('does not count a receive span beside the process span of the same delivery as a second attempt', () => {
    //   send ─┬─ billing "receive" (no outcome)
    //         └─ billing "process" #1 processed
    const bill = send({ service: 'orders', messageId: 'bill-1', messageType: 'BillCustomer', atMs: at(0), conversationId });
    const receive = { ...attempt({ parent: bill, service: 'billing', attempt: 0, atMs: at(10) }), operation: 'receive' as const };
    const processSpan = attempt({ parent: bill, service: 'billing', outcome: 'processed', atMs: at(11) });
    const flow = reconstructFlow([bill, receive, processSpan], options);
    expect(flow.messages[0].deliveries.map((d) => d.spanId)).toEqual([processSpan.spanId]);
    expect(flow.anomalies).toEqual([]);
  });

  it('marks a send under a failed attempt, and a resend of the same message is not from a failed attempt', () => {
    const bill = send({ service: 'orders', messageId: 'bill-1', messageType: 'BillCustomer', atMs: at(0), conversationId });
    const failed = attempt({ parent: bill, service: 'billing', outcome: 'retry_scheduled', error: 'x', atMs: at(10), durationMs: 50 });
    const ghost = send({ parent: failed, messageId: 'billed-1', messageType: 'OrderBilled', atMs: at(20) });
    const toDelayQueue = send({
      parent: failed,
      messageId: 'bill-1',
      messageType: 'BillCustomer',
      destination: 'billing.delay',
      atMs: at(40),
    });
    const flow = reconstructFlow([bill, failed, ghost, toDelayQueue], options);
    const sends = Object.fromEntries(flow.messages.map((m) => [m.messageId, m.sends.map((s) => s.fromFailedAttempt)]));
    expect(sends).toEqual({ 'bill-1': [false, false], 'billed-1': [true] });
  });
});

describe('HTTP requests as attempts', () => {
  it('a boundary request that failed after publishing makes a ghost, and keeps its causation edge', () => {
    //   user ==> shop-api POST /orders (outcome failed, 500)
    //              └─ SubmitOrder ─> orders #1 processed
    const request = httpServer({ service: 'shop-api', route: '/orders', atMs: at(0), durationMs: 50, statusCode: 500, conversationId });
    const failedRequest = { ...request, outcome: 'failed' as const, statusMessage: 'db down' };
    const submit = send({ parent: failedRequest, messageId: 'submit-1', messageType: 'SubmitOrder', atMs: at(5) });
    const flow = reconstructFlow(
      [failedRequest, submit, attempt({ parent: submit, service: 'orders', outcome: 'processed', atMs: at(20) })],
      options,
    );
    expect(flow.anomalies.map((a) => [a.kind, a.messageId, a.service])).toEqual([['ghost-message', 'submit-1', 'shop-api']]);
    expect(flow.anomalies[0].detail).toContain('while processing request POST /orders');
    expect(flow.edges).toEqual([{ from: request.spanId, to: 'submit-1', via: 'http' }]);
  });
});

describe('corrupt input', () => {
  it('survives a parent cycle and duplicate spans', () => {
    //   a ─parent→ b ─parent→ a   (both consumer spans of the same message)
    const a = makeSpan({
      spanId: 'a'.repeat(16),
      parentSpanId: 'b'.repeat(16),
      traceId: 't'.repeat(32),
      kind: 'consumer',
      service: 's',
      messageId: 'm',
      conversationId,
      outcome: 'processed',
      startNs: msToNs(at(0)),
    });
    const b = makeSpan({
      spanId: 'b'.repeat(16),
      parentSpanId: 'a'.repeat(16),
      traceId: 't'.repeat(32),
      kind: 'consumer',
      service: 's',
      messageId: 'm',
      conversationId,
      outcome: 'processed',
      startNs: msToNs(at(1)),
    });
    const flow = reconstructFlow([a, b, { ...b }], options);
    expect(flow.messageCount).toBe(1);
    expect(flow.spanCount).toBe(3);
  });
});

describe('causation edges', () => {
  it('come from causation ids even across traces', () => {
    //   trace A: OrderBilled(billed-1) ─> shipping      trace B: OrderShipped(shipped-1), causation billed-1 (outbox dispatcher)
    const billed = send({ service: 'billing', messageId: 'billed-1', messageType: 'OrderBilled', atMs: at(0), conversationId });
    const shipping = attempt({ parent: billed, service: 'shipping', outcome: 'processed', outgoing: [], atMs: at(10) });
    const shipped = send({
      service: 'shipping',
      messageId: 'shipped-1',
      messageType: 'OrderShipped',
      causationId: 'billed-1',
      atMs: at(500),
      conversationId,
    });
    const flow = reconstructFlow(
      [billed, shipping, shipped, attempt({ parent: shipped, service: 'marketing', outcome: 'processed', atMs: at(600) })],
      options,
    );
    expect(flow.edges).toEqual([{ from: 'billed-1', to: 'shipped-1', via: 'message' }]);
  });
});

describe('state', () => {
  const flowAt = (now: number) =>
    reconstructFlow([send({ service: 'orders', messageId: 'bill-1', messageType: 'BillCustomer', atMs: at(0), conversationId })], {
      now,
      quietPeriodMs: QUIET,
    });

  it.each([
    ['within the quiet period', at(30_000), 'active', 'in-flight'],
    ['just before the quiet period ends', at(QUIET), 'active', 'in-flight'],
    ['after the quiet period', at(QUIET + 10), 'incomplete', 'lost'],
  ] as const)('%s: %s, message %s', (_label, now, state, status) => {
    const flow = flowAt(now);
    expect(flow.state).toBe(state);
    expect(flow.messages[0].status).toBe(status);
    expect(flow.complete).toBe(false);
  });

  it('an empty conversation is complete with no messages', () => {
    const flow = reconstructFlow([], options);
    expect(flow).toMatchObject({ messageCount: 0, spanCount: 0, anomalies: [], page: { offset: 0, limit: 0, total: 0 } });
  });
});

describe('paging and records', () => {
  function fanOut(count: number): SpanRow[] {
    const submit = send({ service: 'shop-api', messageId: 'root', messageType: 'SubmitOrder', atMs: at(0), conversationId });
    const handle = attempt({ parent: submit, service: 'orders', outcome: 'processed', atMs: at(1), durationMs: 100 });
    const spans = [submit, handle];
    for (let i = 0; i < count; i += 1) {
      const line = send({ parent: handle, messageId: `line-${i}`, messageType: 'ReserveStock', atMs: at(2 + i * 0.01) });
      spans.push(line);
      // Every fifth line is never consumed: lost.
      if (i % 5 !== 0) spans.push(attempt({ parent: line, service: 'warehouse', outcome: 'processed', atMs: at(200 + i * 0.01) }));
    }
    return spans;
  }

  it('pages messages but counts anomalies over the whole flow', () => {
    const flow = reconstructFlow(fanOut(100), { ...options, page: { offset: 10, limit: 20 }, truncated: true });
    expect(flow.page).toEqual({ offset: 10, limit: 20, total: 101 });
    expect(flow.messages.map((m) => m.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => `line-${i + 9}`));
    expect(flow.anomalyCounts).toEqual({ 'lost-message': 20 });
    expect(flow.anomalies).toHaveLength(20);
    expect(flow.messageCount).toBe(101);
    expect(flow.truncated).toBe(true);
  });

  it('analyzeConversation returns the same summary with every anomaly and the analysis time', () => {
    const spans = fanOut(10);
    const record = analyzeConversation(spans, options);
    const flow = reconstructFlow(spans, options);
    expect(record).toEqual(summarizeFlow(flow, NOW));
    expect(record.analyzedAtMs).toBe(NOW);
    expect(record.anomalies.map((a) => a.messageId)).toEqual(['line-0', 'line-5']);
    expect(record).not.toHaveProperty('messages');
  });

  /**
   *   One attempt producing 10,000 messages, all listed in its outgoing ids; each consumed once,
   *   the last 10 never sent (outbox not dispatched).
   */
  it('reconstructs a 10,000-message fan-out from one attempt', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `line-${i}`);
    const submit = send({ service: 'shop-api', messageId: 'root', messageType: 'SubmitOrder', atMs: at(0), conversationId });
    const handle = attempt({ parent: submit, service: 'orders', outcome: 'processed', outgoing: ids, atMs: at(1), durationMs: 100 });
    const spans = [submit, handle];
    for (const id of ids.slice(0, -10)) {
      const line = send({ parent: handle, messageId: id, messageType: 'ReserveStock', atMs: at(2) });
      spans.push(line, attempt({ parent: line, service: 'warehouse', outcome: 'processed', atMs: at(300) }));
    }
    const flow = reconstructFlow(spans, { ...options, page: { offset: 9_990, limit: 100 } });
    expect(flow.messageCount).toBe(10_001);
    expect(flow.anomalyCounts).toEqual({ 'lost-message': 10 });
    expect(flow.edges).toHaveLength(10_000);
    expect(flow.messages).toHaveLength(11);
    expect(flow.state).toBe('incomplete');
  });

  /**
   *   A chain 10,000 messages deep in one trace (each processing sends the next), with every
   *   100th message redelivered in a new trace and processed again.
   */
  it('reconstructs a 10,000-message chain', () => {
    const spans: SpanRow[] = [];
    let parent = send({ service: 'svc-0', messageId: 'm-0', messageType: 'Step', atMs: at(0), conversationId });
    spans.push(parent);
    for (let i = 0; i < 10_000; i += 1) {
      const handle = attempt({ parent, service: `svc-${(i + 1) % 7}`, outcome: 'processed', atMs: at(1 + i) });
      spans.push(handle);
      if (i % 100 === 0) {
        spans.push(
          attempt({
            service: handle.service,
            messageId: parent.messageId,
            messageType: 'Step',
            conversationId,
            attempt: 2,
            outcome: 'processed',
            atMs: at(20_000 + i),
          }),
        );
      }
      if (i < 9_999) {
        parent = send({ parent: handle, messageId: `m-${i + 1}`, messageType: 'Step', atMs: at(1.5 + i) });
        spans.push(parent);
      }
    }
    const flow = reconstructFlow(spans, { ...options, page: { offset: 0, limit: 50 } });
    expect(flow.messageCount).toBe(10_000);
    expect(flow.spanCount).toBe(spans.length);
    expect(flow.messages).toHaveLength(50);
    expect(flow.edges).toHaveLength(9_999);
    expect(flow.anomalyCounts).toEqual({ 'duplicate-delivery': 100, 'duplicate-processing': 100 });
    expect(flow.state).toBe('complete');
  });
});
