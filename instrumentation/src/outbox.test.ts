/**
 * Commit markers and the outbox through `withSend`/`withHandle` (an in-process array stands
 * in for a table queue): what a handler stores, when it commits, what it dispatches after.
 *
 *   handle SubmitOrder (attempt span)
 *   ├─ send AuditLogged            inside the transaction: a send before the commit
 *   ├─ outboxMessage(BillOrder)    stored → outgoing
 *   ├─ outboxMessage(ShipOrder)    stored → outgoing, never dispatched (stuck)
 *   ├─ markCommitted()             onceflow.committed_at_ms
 *   ├─ withOutboxDispatch → send BillOrder   onceflow.outbox.dispatch=true
 *   └─ markProcessed()             outgoing_message_ids = [audit, bill, ship]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind, type Attributes } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ATTR_BODY_DIGEST,
  ATTR_COMMITTED_AT_MS,
  ATTR_ENDPOINT,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_OUTBOX_DISPATCH,
  ATTR_OUTCOME,
  ATTR_OUTGOING_MESSAGE_IDS,
  identityHeaders,
  markCommitted,
  markFailed,
  markProcessed,
  outboxMessage,
  recordOutgoing,
  startOnceflow,
  withHandle,
  withOutboxDispatch,
  withSend,
  type MessageIdentity,
} from './index.js';

const SERVICE = 'onceflow-outbox-test';
const exporter = new InMemorySpanExporter();
const warnings: string[] = [];
const onceflow = startOnceflow({ serviceName: SERVICE, exporter, logger: { warn: (m) => warnings.push(m) } });
afterAll(() => onceflow.shutdown());

interface Row {
  headers: Record<string, string>;
  body: string;
}
const queue: Row[] = [];
const send = (messageType: string, body: string, extra: Partial<Parameters<typeof withSend>[0]> = {}) =>
  withSend({ system: 'onceflow-pgqueue', destination: 'orders', messageType, body, ...extra }, async (headers, identity) => {
    queue.push({ headers, body });
    return identity;
  });
const handleNext = <T>(fn: (m: MessageIdentity) => Promise<T>, endpoint?: string) =>
  withHandle({ system: 'onceflow-pgqueue', destination: 'orders', headers: queue.shift()!.headers, endpoint }, fn);

async function spans(): Promise<ReadableSpan[]> {
  await onceflow.forceFlush();
  return exporter.getFinishedSpans();
}
const spanOf = (all: ReadableSpan[], kind: SpanKind, id: string) =>
  all.find((s) => s.kind === kind && s.attributes[ATTR_MESSAGING_MESSAGE_ID] === id)!;
const startMs = (span: ReadableSpan) => span.startTime[0] * 1000 + span.startTime[1] / 1e6;
const attr = (span: ReadableSpan, key: string): Attributes[string] => span.attributes[key];

beforeEach(() => {
  exporter.reset();
  queue.length = 0;
});

describe('commit markers and the outbox', () => {
  it('a committed attempt lists what it stored, dispatched or not; the dispatch is marked and follows the commit', async () => {
    const submit = await send('SubmitOrder', '{"order":1}');
    const ids: Record<string, string> = {};
    let committedBetween: [number, number] = [0, 0];
    await handleNext(async () => {
      ids.audit = (await send('AuditLogged', '{}')).messageId;
      const bill = outboxMessage({ messageType: 'BillOrder' });
      ids.bill = bill.messageId;
      ids.ship = outboxMessage({ messageType: 'ShipOrder' }).messageId;
      await sleep(5);
      const before = Date.now();
      markCommitted();
      committedBetween = [before, Date.now()];
      await sleep(5);
      await withOutboxDispatch(() => send('BillOrder', '{"bill":1}', { messageId: bill.messageId }));
      markProcessed();
    });

    const all = await spans();
    const attempt = spanOf(all, SpanKind.CONSUMER, submit.messageId);
    const committedAt = attr(attempt, ATTR_COMMITTED_AT_MS) as number;
    expect(committedAt).toBeGreaterThanOrEqual(committedBetween[0]);
    expect(committedAt).toBeLessThanOrEqual(committedBetween[1]);
    expect(attr(attempt, ATTR_OUTCOME)).toBe('processed');
    expect(attr(attempt, ATTR_OUTGOING_MESSAGE_IDS), 'stored ids listed once each, the stuck one included').toEqual([
      ids.audit,
      ids.bill,
      ids.ship,
    ]);

    const dispatch = spanOf(all, SpanKind.PRODUCER, ids.bill);
    expect(attr(dispatch, ATTR_OUTBOX_DISPATCH)).toBe(true);
    expect(startMs(dispatch)).toBeGreaterThanOrEqual(committedAt);
    const audit = spanOf(all, SpanKind.PRODUCER, ids.audit);
    expect(attr(audit, ATTR_OUTBOX_DISPATCH), 'a send inside the transaction is not a dispatch').toBeUndefined();
    expect(startMs(audit)).toBeLessThan(committedAt);
    expect(
      all.some((s) => s.kind === SpanKind.PRODUCER && attr(s, ATTR_MESSAGING_MESSAGE_ID) === ids.ship),
      'the stuck message was never sent',
    ).toBe(false);
  });

  it('markProcessed records the commit time when markCommitted was not called; the first marker wins', async () => {
    const a = await send('SubmitOrder', '{}');
    let window: [number, number] = [0, 0];
    await handleNext(async () => {
      const before = Date.now();
      markProcessed([]);
      window = [before, Date.now()];
    });
    const b = await send('SubmitOrder', '{}');
    let firstMarker = 0;
    await handleNext(async () => {
      markCommitted();
      firstMarker = Date.now();
      await sleep(5);
      markCommitted();
      markProcessed([]);
    });
    const all = await spans();
    const atA = attr(spanOf(all, SpanKind.CONSUMER, a.messageId), ATTR_COMMITTED_AT_MS) as number;
    expect(atA).toBeGreaterThanOrEqual(window[0]);
    expect(atA).toBeLessThanOrEqual(window[1]);
    expect(attr(spanOf(all, SpanKind.CONSUMER, b.messageId), ATTR_COMMITTED_AT_MS)).toBeLessThanOrEqual(firstMarker);
  });

  it('a failed attempt has no commit time and lists nothing, whatever it stored', async () => {
    const submit = await send('SubmitOrder', '{}');
    await handleNext(async () => {
      recordOutgoing(outboxMessage({ messageType: 'BillOrder' }).messageId, 'given-by-hand');
      markFailed(new Error('rolled back'));
    });
    const attempt = spanOf(await spans(), SpanKind.CONSUMER, submit.messageId);
    expect(attr(attempt, ATTR_COMMITTED_AT_MS)).toBeUndefined();
    expect(attr(attempt, ATTR_OUTGOING_MESSAGE_IDS)).toBeUndefined();
  });

  it('outboxMessage gives the identity to store (conversation and causation of the handled message)', async () => {
    const submit = await send('SubmitOrder', '{}');
    const stored = await handleNext(async () => identityHeaders(outboxMessage({ messageType: 'BillOrder', messageId: 'bill-1' })));
    expect(stored).toMatchObject({
      'onceflow-message-id': 'bill-1',
      'onceflow-conversation-id': submit.conversationId,
      'onceflow-causation-id': submit.messageId,
      'onceflow-message-type': 'BillOrder',
    });
  });

  it('a dispatch outside any attempt (an outbox sweeper) is marked too', async () => {
    const swept = await withOutboxDispatch(() => send('BillOrder', '{}', { messageId: 'swept-1' }));
    expect(attr(spanOf(await spans(), SpanKind.PRODUCER, swept.messageId), ATTR_OUTBOX_DISPATCH)).toBe(true);
  });
});

describe('endpoint and digest on withHandle / withSend', () => {
  it('the attempt carries service/destination, or the endpoint the application names', async () => {
    const a = await send('SubmitOrder', '{}');
    await handleNext(async () => markProcessed([]));
    const b = await send('SubmitOrder', '{}');
    await handleNext(async () => markProcessed([]), 'shipping/priority');
    const all = await spans();
    expect(attr(spanOf(all, SpanKind.CONSUMER, a.messageId), ATTR_ENDPOINT)).toBe(`${SERVICE}/orders`);
    expect(attr(spanOf(all, SpanKind.CONSUMER, b.messageId), ATTR_ENDPOINT)).toBe('shipping/priority');
  });

  it('a send records the digest of its body: equal for equal bodies, different otherwise, absent without a body', async () => {
    const sent = [
      await send('BillOrder', '{"amount":10}'),
      await withSend(
        { system: 'onceflow-pgqueue', destination: 'orders', messageType: 'BillOrder', body: Buffer.from('{"amount":10}') },
        async (_h, id) => id,
      ),
      await send('BillOrder', '{"amount":11}'),
      await withSend({ system: 'onceflow-pgqueue', destination: 'orders', messageType: 'BillOrder' }, async (_h, id) => id),
    ];
    const all = await spans();
    const digests = sent.map((s) => attr(spanOf(all, SpanKind.PRODUCER, s.messageId), ATTR_BODY_DIGEST));
    expect(digests[0]).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(digests[1]).toBe(digests[0]);
    expect(digests[2]).not.toBe(digests[0]);
    expect(digests[3]).toBeUndefined();
  });
});

describe('never breaks the host', () => {
  it('a body Onceflow cannot digest still goes out; the failure is reported once', async () => {
    const sent = await withSend(
      { system: 's', destination: 'd', messageType: 'Odd', body: 42 as unknown as string },
      async (headers) => headers,
    );
    expect(sent['onceflow-message-id']).toBeTruthy();
    expect(warnings.filter((w) => w.startsWith('withSend failed'))).toHaveLength(1);
  });

  it('the outbox and commit API do nothing and throw nothing outside an attempt', async () => {
    expect(() => {
      markCommitted();
      recordOutgoing('x');
      recordOutgoing(undefined as unknown as string);
    }).not.toThrow();
    expect(outboxMessage({ messageType: 'Ping' }).causationId).toBeUndefined();
    await expect(withOutboxDispatch(async () => 'dispatched')).resolves.toBe('dispatched');
    expect(await spans()).toEqual([]);
  });
});
