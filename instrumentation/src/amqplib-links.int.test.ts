/**
 * instrumentation-amqplib with `useLinksForConsume`: the consume span starts a new trace and
 * the instrumentation activates a context holding only that span (the extracted producer
 * context, baggage included, is dropped). The handler still runs with the message's identity
 * and nested publishes still get causation, because Onceflow finds the scope through the
 * active span. Also: a quorum queue's `x-delivery-count` gives the attempt number.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, requireRabbitMQ } from '@onceflow/test-support';
import {
  ATTR_ATTEMPT,
  ATTR_CAUSATION_ID,
  ATTR_MESSAGE_TYPE,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_OUTCOME,
  currentMessage,
  markProcessed,
  startOnceflow,
} from './index.js';

const exporter = new InMemorySpanExporter();
const onceflow = startOnceflow({
  serviceName: 'onceflow-amqplib-links-test',
  exporter,
  instrumentations: { amqplib: { useLinksForConsume: true }, http: false, express: false, undici: false },
});
const require = createRequire(import.meta.url);
const ok = await requireRabbitMQ();
const str = (span: ReadableSpan, key: string) => span.attributes[key] as string | undefined;

describe.skipIf(!ok)('amqplib with useLinksForConsume', () => {
  const run = randomUUID().slice(0, 8);
  const queueA = `onceflow-it-${run}-links-a`;
  const queueB = `onceflow-it-${run}-links-b`;
  const quorum = `onceflow-it-${run}-quorum`;
  let connection: import('amqplib').ChannelModel;
  let channel: import('amqplib').Channel;

  beforeAll(async () => {
    const amqp = require('amqplib') as typeof import('amqplib');
    connection = await amqp.connect(AMQP_URL);
    channel = await connection.createChannel();
    await channel.assertQueue(queueA, { durable: false });
    await channel.assertQueue(queueB, { durable: false });
    await channel.assertQueue(quorum, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  });

  afterAll(async () => {
    for (const q of [queueA, queueB, quorum]) await channel?.deleteQueue(q).catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await onceflow.shutdown();
  });

  it('the handler has the identity; nested publishes get causation; the consume span is linked, not parented', async () => {
    const handled = new Promise<ReturnType<typeof currentMessage>>((resolve) => {
      void channel.consume(queueA, (msg) => {
        if (!msg) return;
        const message = currentMessage();
        setTimeout(() => {
          channel.sendToQueue(queueB, Buffer.from('next'), { type: 'Next' });
          markProcessed();
          channel.ack(msg);
          resolve(message);
        }, 5);
      });
    });
    channel.sendToQueue(queueA, Buffer.from('first'), { type: 'First' });
    const message = await handled;
    expect(message?.messageType).toBe('First');
    await onceflow.forceFlush();
    const spans = exporter.getFinishedSpans();
    const firstSend = spans.find((s) => s.kind === SpanKind.PRODUCER && str(s, ATTR_MESSAGE_TYPE) === 'First')!;
    const consume = spans.find((s) => s.kind === SpanKind.CONSUMER && str(s, ATTR_MESSAGE_TYPE) === 'First')!;
    const nextSend = spans.find((s) => s.kind === SpanKind.PRODUCER && str(s, ATTR_MESSAGE_TYPE) === 'Next')!;
    expect(str(consume, ATTR_MESSAGING_MESSAGE_ID)).toBe(message!.messageId);
    expect(consume.parentSpanContext, 'a new trace').toBeUndefined();
    expect(consume.links.map((l) => l.context.spanId)).toEqual([firstSend.spanContext().spanId]);
    expect(str(nextSend, ATTR_CAUSATION_ID)).toBe(message!.messageId);
    expect(nextSend.parentSpanContext?.spanId).toBe(consume.spanContext().spanId);
    expect(str(consume, ATTR_OUTCOME)).toBe('processed');
  });

  it("reads the attempt from a quorum queue's x-delivery-count", async () => {
    const attempts: (number | undefined)[] = [];
    const done = new Promise<void>((resolve) => {
      void channel.consume(quorum, (msg) => {
        if (!msg) return;
        attempts.push(currentMessage()?.attempt);
        if (attempts.length < 3) channel.nack(msg, false, true);
        else {
          channel.ack(msg);
          resolve();
        }
      });
    });
    channel.sendToQueue(quorum, Buffer.from('q'), { type: 'Quorum' });
    await done;
    expect(attempts).toEqual([1, 2, 3]);
    await onceflow.forceFlush();
    const consumes = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER && str(s, ATTR_MESSAGE_TYPE) === 'Quorum');
    expect(consumes.map((s) => [s.attributes[ATTR_ATTEMPT], s.attributes[ATTR_OUTCOME]])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, undefined],
    ]);
  });
});
