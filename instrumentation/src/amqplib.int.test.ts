/**
 * Against the real RabbitMQ: service A serves an HTTP request (express) and publishes
 * SubmitOrder; service B consumes it, fails once (nack → redelivery), then publishes
 * BillOrder and marks the attempt processed; service C consumes BillOrder. The spans show
 * one conversation, the causation chain, message ids, types, attempts and outcomes.
 *
 * The SDK starts before amqplib/express are loaded, and they are loaded through
 * `createRequire` so they go through the CommonJS hook OpenTelemetry patches with (vitest
 * loads test files as ES modules; an `import` of express would bypass the patch).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, requireRabbitMQ } from '@onceflow/test-support';
import {
  ATTR_ATTEMPT,
  ATTR_CAUSATION_ID,
  ATTR_IDEMPOTENCY_KEY,
  ATTR_MESSAGE_TYPE,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_OUTCOME,
  ATTR_OUTGOING_MESSAGE_IDS,
  currentMessage,
  markDuplicate,
  markFailed,
  markProcessed,
  startOnceflow,
} from './index.js';

const exporter = new InMemorySpanExporter();
const warnings: string[] = [];
const onceflow = startOnceflow({
  serviceName: 'onceflow-amqplib-test',
  exporter,
  logger: { warn: (message) => warnings.push(message) },
  instrumentations: {
    amqplib: {
      // An application's own hook that throws must not break consumption or publishing.
      consumeHook: (_span, info) => {
        if (info.msg.properties.type === 'Explode') throw new Error('application consume hook exploded');
      },
      publishHook: (_span, info) => {
        if (info.options?.type === 'Explode') throw new Error('application publish hook exploded');
      },
    },
  },
});

const require = createRequire(import.meta.url);
type Amqp = typeof import('amqplib');
type Channel = import('amqplib').Channel;
type ConsumeMessage = import('amqplib').ConsumeMessage;

const ok = await requireRabbitMQ();

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const str = (span: ReadableSpan, key: string) => span.attributes[key] as string | undefined;

describe.skipIf(!ok)('amqplib + express through RabbitMQ', () => {
  const run = randomUUID().slice(0, 8);
  const queueB = `onceflow-it-${run}-billing`;
  const queueC = `onceflow-it-${run}-shipping`;
  const queueP = `onceflow-it-${run}-props`;
  let amqp: Amqp;
  let connection: Awaited<ReturnType<Amqp['connect']>>;
  let channel: Channel;

  beforeAll(async () => {
    amqp = require('amqplib') as Amqp;
    connection = await amqp.connect(AMQP_URL);
    channel = await connection.createChannel();
    for (const q of [queueB, queueC, queueP]) await channel.assertQueue(q, { durable: false, autoDelete: false });
  });

  afterAll(async () => {
    if (channel) for (const q of [queueB, queueC, queueP]) await channel.deleteQueue(q).catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await onceflow.shutdown();
  });

  it('really patched amqplib (the SDK started before it loaded)', () => {
    expect((channel.publish as { __wrapped?: boolean }).__wrapped).toBe(true);
  });

  it('carries conversation, causation, ids, types, attempts and outcomes from HTTP through two hops', async () => {
    const express = require('express') as typeof import('express');
    const seenByB: (ReturnType<typeof currentMessage> & object)[] = [];
    const cDone = deferred<ReturnType<typeof currentMessage>>();

    // Service B: fails the first attempt (nack + requeue), processes the redelivery.
    await channel.consume(queueB, (msg: ConsumeMessage | null) => {
      if (!msg) return;
      const message = currentMessage();
      if (message) seenByB.push(message);
      void (async () => {
        await Promise.resolve(); // the scope survives awaits
        if (!msg.fields.redelivered) {
          markFailed(new Error('database deadlock'));
          channel.nack(msg, false, true);
          return;
        }
        channel.sendToQueue(queueC, Buffer.from('{"bill":1}'), { type: 'BillOrder' });
        markProcessed();
        channel.ack(msg);
      })();
    });
    // Service C: processes BillOrder.
    await channel.consume(queueC, (msg: ConsumeMessage | null) => {
      if (!msg) return;
      cDone.resolve(currentMessage());
      markProcessed([]);
      channel.ack(msg);
    });

    // Service A: the HTTP edge.
    const app = express();
    app.post('/orders', (_req, res) => {
      channel.sendToQueue(queueB, Buffer.from('{"order":1}'), { type: 'SubmitOrder' });
      res.status(202).json({ accepted: true });
    });
    const server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const key = `cart-${run}`;
    const response = await fetch(`http://127.0.0.1:${port}/orders`, { method: 'POST', headers: { 'Idempotency-Key': key } });
    expect(response.status).toBe(202);

    const atC = await cDone.promise;
    server.close();
    await onceflow.forceFlush();
    const spans = exporter.getFinishedSpans();

    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER && str(s, ATTR_IDEMPOTENCY_KEY) === key);
    expect(serverSpan, 'the HTTP server span records the Idempotency-Key').toBeDefined();
    const conversation = str(serverSpan!, ATTR_MESSAGING_CONVERSATION_ID)!;
    expect(conversation).toBeTruthy();

    const submitSend = spans.find((s) => s.kind === SpanKind.PRODUCER && str(s, ATTR_MESSAGE_TYPE) === 'SubmitOrder')!;
    expect(submitSend).toBeDefined();
    const submitId = str(submitSend, ATTR_MESSAGING_MESSAGE_ID)!;
    expect(str(submitSend, ATTR_MESSAGING_CONVERSATION_ID)).toBe(conversation);
    expect(str(submitSend, ATTR_CAUSATION_ID), 'no causation at the boundary').toBeUndefined();
    expect(str(submitSend, ATTR_IDEMPOTENCY_KEY), 'the request key rides on the message it produced').toBe(key);
    expect(str(submitSend, ATTR_MESSAGING_SYSTEM)).toBe('rabbitmq');
    expect(str(submitSend, ATTR_MESSAGING_OPERATION_TYPE)).toBe('send');
    expect(str(submitSend, ATTR_MESSAGING_DESTINATION_NAME)).toBe(queueB);

    const attemptsB = spans
      .filter((s) => s.kind === SpanKind.CONSUMER && str(s, ATTR_MESSAGING_DESTINATION_NAME) === queueB)
      .sort((a, b) => (a.attributes[ATTR_ATTEMPT] as number) - (b.attributes[ATTR_ATTEMPT] as number));
    expect(attemptsB.map((s) => s.attributes[ATTR_ATTEMPT])).toEqual([1, 2]);
    expect(attemptsB.map((s) => str(s, ATTR_OUTCOME))).toEqual(['failed', 'processed']);
    for (const attempt of attemptsB) {
      expect(str(attempt, ATTR_MESSAGING_MESSAGE_ID), 'every attempt shares the message id').toBe(submitId);
      expect(str(attempt, ATTR_MESSAGE_TYPE)).toBe('SubmitOrder');
      expect(str(attempt, ATTR_MESSAGING_CONVERSATION_ID)).toBe(conversation);
      expect(str(attempt, ATTR_MESSAGING_OPERATION_TYPE)).toBe('process');
      expect(
        attempt.links.map((l) => l.context.spanId),
        'consume span links to the producer',
      ).toContain(submitSend.spanContext().spanId);
    }
    expect(seenByB.map((m) => [m.messageId, m.attempt])).toEqual([
      [submitId, 1],
      [submitId, 2],
    ]);

    const billSend = spans.find((s) => s.kind === SpanKind.PRODUCER && str(s, ATTR_MESSAGE_TYPE) === 'BillOrder')!;
    expect(billSend).toBeDefined();
    const billId = str(billSend, ATTR_MESSAGING_MESSAGE_ID)!;
    expect(billId).not.toBe(submitId);
    expect(str(billSend, ATTR_CAUSATION_ID), 'causation is the message being handled').toBe(submitId);
    expect(str(billSend, ATTR_MESSAGING_CONVERSATION_ID)).toBe(conversation);
    expect(billSend.parentSpanContext?.spanId, 'sent from within the second attempt').toBe(attemptsB[1].spanContext().spanId);
    expect(attemptsB[1].attributes[ATTR_OUTGOING_MESSAGE_IDS], 'a processed attempt lists what it sent').toEqual([billId]);

    const atCSpan = spans.find((s) => s.kind === SpanKind.CONSUMER && str(s, ATTR_MESSAGING_DESTINATION_NAME) === queueC)!;
    expect(atC).toEqual({ messageId: billId, conversationId: conversation, causationId: submitId, messageType: 'BillOrder', attempt: 1 });
    expect(str(atCSpan, ATTR_OUTCOME)).toBe('processed');
    expect(atCSpan.attributes[ATTR_OUTGOING_MESSAGE_IDS]).toEqual([]);

    // Every span of the flow — HTTP server, express middleware, publishes, consumes — carries the conversation.
    // (The test's own fetch, the trace's root, is outside the flow: the conversation starts at the server.)
    const flowSpans = spans.filter(
      (s) =>
        s.spanContext().traceId === serverSpan!.spanContext().traceId && s.spanContext().spanId !== serverSpan!.parentSpanContext?.spanId,
    );
    expect(flowSpans.length).toBeGreaterThanOrEqual(7);
    expect(flowSpans.some((s) => s.instrumentationScope.name.includes('express'))).toBe(true);
    for (const span of flowSpans) expect([span.name, str(span, ATTR_MESSAGING_CONVERSATION_ID)]).toEqual([span.name, conversation]);
  });

  it("uses the application's own AMQP messageId, type and correlationId", async () => {
    const got = deferred<ReturnType<typeof currentMessage>>();
    const { consumerTag } = await channel.consume(queueP, (msg) => {
      if (!msg) return;
      got.resolve(currentMessage());
      markDuplicate('seen before');
      channel.ack(msg);
    });
    channel.sendToQueue(queueP, Buffer.from('x'), { messageId: `legacy-${run}`, type: 'LegacyEvent', correlationId: `corr-${run}` });
    const message = await got.promise;
    await channel.cancel(consumerTag);
    expect(message).toMatchObject({ messageId: `legacy-${run}`, messageType: 'LegacyEvent', conversationId: `corr-${run}`, attempt: 1 });
    await onceflow.forceFlush();
    const consume = exporter
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.CONSUMER && str(s, ATTR_MESSAGING_MESSAGE_ID) === `legacy-${run}`)!;
    expect(str(consume, ATTR_OUTCOME)).toBe('duplicate');
    expect(str(consume, 'onceflow.outcome.reason')).toBe('seen before');
  });

  it('keeps the identity of a resent message (same id, attempt header) and reads an explicit attempt', async () => {
    const got: ReturnType<typeof currentMessage>[] = [];
    const two = deferred<void>();
    const { consumerTag } = await channel.consume(queueP, (msg) => {
      if (!msg) return;
      got.push(currentMessage());
      if (got.length === 1) {
        // Application-level retry: republish the same message with the next attempt number.
        channel.sendToQueue(queueP, msg.content, { headers: { ...msg.properties.headers, 'onceflow-attempt': '2' } });
      } else two.resolve();
      channel.ack(msg);
    });
    channel.sendToQueue(queueP, Buffer.from('y'), { type: 'Retried' });
    await two.promise;
    await channel.cancel(consumerTag);
    expect(got[1]!.messageId).toBe(got[0]!.messageId);
    expect(got[1]!.conversationId).toBe(got[0]!.conversationId);
    expect([got[0]!.attempt, got[1]!.attempt]).toEqual([1, 2]);
  });

  it('an outcome recorded after ack is not lost silently: it is reported once', async () => {
    const done = deferred<void>();
    const { consumerTag } = await channel.consume(queueP, (msg) => {
      if (!msg) return;
      channel.ack(msg); // ends the consume span
      markProcessed();
      done.resolve();
    });
    channel.sendToQueue(queueP, Buffer.from('late'), { type: 'Late' });
    await done.promise;
    await channel.cancel(consumerTag);
    expect(warnings.filter((w) => w.startsWith("markProcessed was called after the attempt's span ended"))).toHaveLength(1);
  });

  it('counts retries through a dead-letter exchange (x-death) as attempts', async () => {
    const main = `onceflow-it-${run}-dlx-main`;
    const delay = `onceflow-it-${run}-dlx-delay`;
    await channel.assertQueue(main, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': delay } });
    await channel.assertQueue(delay, {
      durable: false,
      arguments: { 'x-message-ttl': 20, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': main },
    });
    try {
      const attempts: (number | undefined)[] = [];
      const ids = new Set<string | undefined>();
      const done = deferred<void>();
      await channel.consume(main, (msg) => {
        if (!msg) return;
        attempts.push(currentMessage()?.attempt);
        ids.add(currentMessage()?.messageId);
        if (attempts.length < 3) channel.reject(msg, false);
        else {
          channel.ack(msg);
          done.resolve();
        }
      });
      channel.sendToQueue(main, Buffer.from('retry me'), { type: 'Delayed' });
      await done.promise;
      expect(attempts).toEqual([1, 2, 3]);
      expect(ids.size, 'one message id across the retries').toBe(1);
    } finally {
      await channel.deleteQueue(main).catch(() => undefined);
      await channel.deleteQueue(delay).catch(() => undefined);
    }
  });

  it('an application hook that throws breaks neither the publish nor the handler', async () => {
    const got = deferred<ReturnType<typeof currentMessage>>();
    const { consumerTag } = await channel.consume(queueP, (msg) => {
      if (!msg) return;
      got.resolve(currentMessage());
      channel.ack(msg);
    });
    expect(channel.sendToQueue(queueP, Buffer.from('boom'), { type: 'Explode' })).toBe(true);
    const message = await got.promise;
    await channel.cancel(consumerTag);
    expect(message?.messageType).toBe('Explode');
    expect(warnings.some((w) => w.includes('application hook') && w.includes('exploded'))).toBe(true);
  });
});
