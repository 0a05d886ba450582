/**
 * withSend / withHandle over a transport OpenTelemetry knows nothing about (an in-process
 * array standing in for a table queue), and the explicit outcome API.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { amqplibConfig } from './amqplib.js';
import { httpConfig } from './http.js';
import {
  ATTR_ATTEMPT,
  ATTR_CAUSATION_ID,
  ATTR_IDEMPOTENCY_KEY,
  ATTR_MESSAGE_TYPE,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_OUTCOME,
  ATTR_OUTCOME_REASON,
  ATTR_OUTGOING_MESSAGE_IDS,
  ATTR_PAYLOAD_BYTES,
  ATTR_PAYLOAD_FETCHED,
  ATTR_PAYLOAD_OFFLOADED,
  ATTR_PAYLOAD_REF,
  ATTR_RETRY_DELAY_MS,
  HEADER_PAYLOAD_REF,
  currentMessage,
  deterministicMessageId,
  markDeadLettered,
  markDuplicate,
  markFailed,
  markProcessed,
  markRetryScheduled,
  outgoingIdentity,
  recordPayloadFetch,
  recordPayloadOffload,
  startOnceflow,
  withHandle,
  withSend,
  type MessageIdentity,
} from './index.js';

const exporter = new InMemorySpanExporter();
const warnings: string[] = [];
const onceflow = startOnceflow({ serviceName: 'onceflow-transport-test', exporter, logger: { warn: (m) => warnings.push(m) } });

interface Row {
  headers: Record<string, string>;
  body: string;
}
const queue: Row[] = [];
const send = (destination: string, messageType: string, body: string, extra: Partial<Parameters<typeof withSend>[0]> = {}) =>
  withSend({ system: 'onceflow-pgqueue', destination, messageType, ...extra }, async (headers, identity) => {
    queue.push({ headers, body });
    return identity;
  });
const handleNext = <T>(fn: (m: MessageIdentity) => Promise<T>, meta: { attempt?: number; redelivered?: boolean } = {}) => {
  const row = queue.shift()!;
  return withHandle({ system: 'onceflow-pgqueue', destination: 'orders', headers: row.headers, ...meta }, fn);
};

async function spans(): Promise<ReadableSpan[]> {
  await onceflow.forceFlush();
  return exporter.getFinishedSpans();
}
const byMessage = (all: ReadableSpan[], kind: SpanKind, id: string) =>
  all.filter((s) => s.kind === kind && s.attributes[ATTR_MESSAGING_MESSAGE_ID] === id);

beforeEach(() => {
  exporter.reset();
  queue.length = 0;
});
afterAll(() => onceflow.shutdown());

describe('withSend / withHandle round trip', () => {
  it('carries identity to the handler, links the consumer to the producer, and chains causation', async () => {
    const submitId = deterministicMessageId('cart', '7');
    const sent = await send('orders', 'SubmitOrder', '{}', { messageId: submitId, idempotencyKey: 'cart-7' });
    expect(sent).toEqual({ messageId: submitId, conversationId: submitId, messageType: 'SubmitOrder', idempotencyKey: 'cart-7' });

    let nested: MessageIdentity | undefined;
    const seen = await handleNext(async (message) => {
      expect(currentMessage()).toEqual(message);
      nested = await send('billing', 'BillOrder', '{}');
      markProcessed([nested.messageId]);
      return message;
    });
    expect(seen).toEqual({
      messageId: submitId,
      conversationId: submitId,
      messageType: 'SubmitOrder',
      idempotencyKey: 'cart-7',
      attempt: 1,
    });
    expect(nested).toMatchObject({ conversationId: submitId, causationId: submitId, messageType: 'BillOrder' });
    expect(nested!.idempotencyKey, 'a message key is not inherited by what its handler sends').toBeUndefined();

    const all = await spans();
    const [producer] = byMessage(all, SpanKind.PRODUCER, submitId);
    const [consumer] = byMessage(all, SpanKind.CONSUMER, submitId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.links.map((l) => l.context.spanId)).toEqual([producer.spanContext().spanId]);
    expect(consumer.attributes).toMatchObject({
      [ATTR_MESSAGE_TYPE]: 'SubmitOrder',
      [ATTR_ATTEMPT]: 1,
      [ATTR_OUTCOME]: 'processed',
      [ATTR_IDEMPOTENCY_KEY]: 'cart-7',
      [ATTR_OUTGOING_MESSAGE_IDS]: [nested!.messageId],
    });
    const [billSend] = byMessage(all, SpanKind.PRODUCER, nested!.messageId);
    expect(billSend.parentSpanContext?.spanId).toBe(consumer.spanContext().spanId);
    expect(billSend.attributes[ATTR_CAUSATION_ID]).toBe(submitId);
    expect(billSend.attributes[ATTR_MESSAGING_CONVERSATION_ID]).toBe(submitId);
  });

  it('a handler that throws without an outcome is a failed attempt; the error still reaches the caller', async () => {
    const { messageId } = await send('orders', 'SubmitOrder', '{}');
    await expect(handleNext(async () => Promise.reject(new Error('constraint violated')))).rejects.toThrow('constraint violated');
    const [attempt] = byMessage(await spans(), SpanKind.CONSUMER, messageId);
    expect(attempt.attributes[ATTR_OUTCOME]).toBe('failed');
    expect(attempt.status).toEqual({ code: SpanStatusCode.ERROR, message: 'constraint violated' });
    expect(attempt.events.some((e) => e.name === 'exception')).toBe(true);
  });

  it('an outcome set before throwing is kept (retry scheduled with its delay)', async () => {
    const { messageId } = await send('orders', 'SubmitOrder', '{}');
    const row = queue[0];
    await expect(
      handleNext(async () => {
        markRetryScheduled(5000, new Error('payment provider timeout'));
        throw new Error('payment provider timeout');
      }),
    ).rejects.toThrow();
    queue.push(row);
    await handleNext(async () => markDeadLettered('attempts exhausted'), { attempt: 4 });
    const attempts = byMessage(await spans(), SpanKind.CONSUMER, messageId);
    expect(attempts.map((s) => [s.attributes[ATTR_ATTEMPT], s.attributes[ATTR_OUTCOME]])).toEqual([
      [1, 'retry_scheduled'],
      [4, 'dead_lettered'],
    ]);
    expect(attempts[0].attributes[ATTR_RETRY_DELAY_MS]).toBe(5000);
    expect(attempts[1].attributes[ATTR_OUTCOME_REASON]).toBe('attempts exhausted');
  });

  it('a redelivery counts as the next attempt and keeps the message id', async () => {
    const { messageId } = await send('orders', 'SubmitOrder', '{}');
    queue.push(queue[0]);
    await handleNext(async () => markFailed(new Error('deadlock')));
    await handleNext(async () => markDuplicate('already in inbox'), { redelivered: true });
    const attempts = byMessage(await spans(), SpanKind.CONSUMER, messageId);
    expect(attempts.map((s) => [s.attributes[ATTR_ATTEMPT], s.attributes[ATTR_OUTCOME]])).toEqual([
      [1, 'failed'],
      [2, 'duplicate'],
    ]);
  });

  it('records a payload offload on the send and a fetch on the attempt (claim check)', async () => {
    const root = await send('orders', 'SubmitOrder', '{}');
    const nestedIds: string[] = [];
    await handleNext(async () => {
      recordPayloadOffload({ ref: 'blob://invoices/1', bytes: 2_000_000 });
      nestedIds.push((await send('invoices', 'InvoiceIssued', '{"ref":"blob://invoices/1"}')).messageId);
      markProcessed();
    });
    expect(queue[0].headers[HEADER_PAYLOAD_REF]).toBe('blob://invoices/1');
    await handleNext(async () => recordPayloadFetch({ ref: 'blob://invoices/1', bytes: 2_000_000 }));
    const all = await spans();
    const [offloadSend] = byMessage(all, SpanKind.PRODUCER, nestedIds[0]);
    expect(offloadSend.attributes).toMatchObject({
      [ATTR_PAYLOAD_OFFLOADED]: true,
      [ATTR_PAYLOAD_REF]: 'blob://invoices/1',
      [ATTR_PAYLOAD_BYTES]: 2_000_000,
    });
    const [fetchAttempt] = byMessage(all, SpanKind.CONSUMER, nestedIds[0]);
    expect(fetchAttempt.attributes).toMatchObject({ [ATTR_PAYLOAD_FETCHED]: true, [ATTR_PAYLOAD_REF]: 'blob://invoices/1' });
    const [firstAttempt] = byMessage(all, SpanKind.CONSUMER, root.messageId);
    expect(firstAttempt.attributes[ATTR_OUTGOING_MESSAGE_IDS]).toEqual(nestedIds);
  });

  it('child spans of an attempt carry the conversation and find the attempt', async () => {
    const { messageId, conversationId } = await send('orders', 'SubmitOrder', '{}');
    await handleNext(async () => {
      await trace.getTracer('app').startActiveSpan('db.transaction', async (span) => {
        expect(currentMessage()?.messageId).toBe(messageId);
        markProcessed([]);
        span.end();
      });
    });
    const all = await spans();
    const child = all.find((s) => s.name === 'db.transaction')!;
    expect(child.attributes[ATTR_MESSAGING_CONVERSATION_ID]).toBe(conversationId);
    expect(byMessage(all, SpanKind.CONSUMER, messageId)[0].attributes[ATTR_OUTCOME]).toBe('processed');
  });
});

describe('outside any attempt', () => {
  it('the outcome API does nothing and throws nothing; outgoingIdentity starts a conversation', async () => {
    expect(() => {
      markProcessed(['x']);
      markDuplicate();
      markFailed(new Error('x'));
      markRetryScheduled(1);
      markDeadLettered();
      recordPayloadOffload({ ref: 'r', bytes: 1 });
      recordPayloadFetch({ ref: 'r', bytes: 1 });
    }).not.toThrow();
    expect(currentMessage()).toBeUndefined();
    const identity = outgoingIdentity({ messageType: 'Ping' });
    expect(identity.conversationId).toBe(identity.messageId);
    expect(identity.causationId).toBeUndefined();
    expect(await spans()).toEqual([]);
  });
});

describe('never breaks the host', () => {
  it("Onceflow's own hooks swallow their errors and report once", () => {
    const span = trace.getTracer('t').startSpan('x');
    const config = amqplibConfig({});
    const broken = { msg: { properties: null } } as never;
    expect(() => config.consumeHook!(span, broken)).not.toThrow();
    expect(() => config.consumeHook!(span, broken)).not.toThrow();
    expect(() => httpConfig({}).requestHook!(span, null as never)).not.toThrow();
    span.end();
    expect(warnings.filter((w) => w.startsWith('amqplib consumeHook failed'))).toHaveLength(1);
    expect(warnings.some((w) => w.startsWith('http requestHook failed'))).toBe(true);
  });

  it('withSend and withHandle still run the application when Onceflow itself fails', async () => {
    const headers = {
      get 'onceflow-message-id'(): string {
        throw new Error('hostile header');
      },
    } as unknown as Record<string, string>;
    await expect(withHandle({ system: 's', destination: 'd', headers }, async () => 'handled')).resolves.toBe('handled');
  });
});
