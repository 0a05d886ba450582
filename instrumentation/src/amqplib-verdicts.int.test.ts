/**
 * Issue 11's evidence through the real RabbitMQ (and a real PostgreSQL commit), with the
 * default sampler at ratio 0 and body digests limited to 1 KiB:
 *
 *   endpoints     one event, exchange → q1, q2 (default names), q3 (consumeAs): three endpoints
 *   commit        orders attempt: publish audit ─ INSERT … COMMIT ─ markCommitted ─
 *                 withOutboxDispatch(publish BillOrder) ─ markProcessed ─ ack
 *   digest        equal bodies → equal digests; different → different; > 1 KiB or off → none
 *   business key  publish → A: setBusinessKey('order-…') → publish → B (reads it) → publish → C
 *   sampling      plain spans dropped; every messaging span above and what runs inside attempts kept
 *
 * The SDK starts before amqplib loads, which is loaded through `createRequire` (see amqplib.int.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, DATABASE_URL, requirePostgres, requireRabbitMQ } from '@onceflow/test-support';
import {
  ATTR_BODY_DIGEST,
  ATTR_BUSINESS_KEY,
  ATTR_COMMITTED_AT_MS,
  ATTR_ENDPOINT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_OUTBOX_DISPATCH,
  ATTR_OUTCOME,
  ATTR_OUTGOING_MESSAGE_IDS,
  HEADER_BUSINESS_KEY,
  configureBodyDigest,
  consumeAs,
  currentMessage,
  identityHeaders,
  markCommitted,
  markProcessed,
  outboxMessage,
  setBusinessKey,
  startOnceflow,
  withOutboxDispatch,
} from './index.js';

const SERVICE = 'onceflow-verdicts-test';
const DIGEST_LIMIT = 1024;
const exporter = new InMemorySpanExporter();
const warnings: string[] = [];
const onceflow = startOnceflow({
  serviceName: SERVICE,
  exporter,
  sampleRatio: 0,
  bodyDigest: { maxBytes: DIGEST_LIMIT },
  logger: { warn: (message) => warnings.push(message) },
});

const require = createRequire(import.meta.url);
type Amqp = typeof import('amqplib');
type Channel = import('amqplib').Channel;
type ConsumeMessage = import('amqplib').ConsumeMessage;
type Pg = typeof import('pg');

const rabbit = await requireRabbitMQ();
const postgres = await requirePostgres();

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function spans(): Promise<ReadableSpan[]> {
  await onceflow.forceFlush();
  return exporter.getFinishedSpans();
}
const withId = (all: ReadableSpan[], kind: SpanKind, id: string) =>
  all.filter((s) => s.kind === kind && s.attributes[ATTR_MESSAGING_MESSAGE_ID] === id);
const startMs = (span: ReadableSpan) => span.startTime[0] * 1000 + span.startTime[1] / 1e6;

describe.skipIf(!rabbit || !postgres)('issue 11 evidence through RabbitMQ', () => {
  const run = randomUUID().slice(0, 8);
  const q = (name: string) => `onceflow-it-${run}-${name}`;
  const exchange = q('events');
  const queues = ['q1', 'q2', 'q3', 'orders', 'billing', 'digest', 'key-a', 'key-b', 'key-c'].map(q);
  const table = `onceflow_it_${run}`;
  let connection: Awaited<ReturnType<Amqp['connect']>>;
  let channel: Channel;
  let db: InstanceType<Pg['Client']>;

  beforeAll(async () => {
    const amqp = require('amqplib') as Amqp;
    connection = await amqp.connect(AMQP_URL);
    channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'direct', { durable: false, autoDelete: true });
    for (const name of queues) await channel.assertQueue(name, { durable: false, autoDelete: false });
    for (const name of ['q1', 'q2', 'q3']) await channel.bindQueue(q(name), exchange, 'OrderPlaced');
    const { Client } = require('pg') as Pg;
    db = new Client({ connectionString: DATABASE_URL });
    await db.connect();
    await db.query(`CREATE TABLE ${table} (id text PRIMARY KEY)`);
  });

  afterAll(async () => {
    if (channel) for (const name of queues) await channel.deleteQueue(name).catch(() => undefined);
    await channel?.deleteExchange(exchange).catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await db?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db?.end().catch(() => undefined);
    await onceflow.shutdown();
  });

  /** Consumes `count` messages from `queue`, running `handle` inside each attempt, then cancels. */
  async function consume(queue: string, count: number, handle: (msg: ConsumeMessage) => Promise<void> | void, options?: object) {
    const done = deferred<void>();
    let seen = 0;
    const { consumerTag } = await channel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        void (async () => {
          await handle(msg);
          channel.ack(msg);
          if (++seen === count) done.resolve();
        })();
      },
      options,
    );
    return { done: done.promise.then(() => channel.cancel(consumerTag)) };
  }

  it('one service consuming one event from three queues records three endpoints', async () => {
    const consumers = await Promise.all([
      consume(q('q1'), 1, () => markProcessed([])),
      consume(q('q2'), 1, () => markProcessed([])),
      consume(q('q3'), 1, () => markProcessed([]), consumeAs(`${SERVICE}/refunds`)),
    ]);
    channel.publish(exchange, 'OrderPlaced', Buffer.from('{"order":1}'), { messageId: `placed-${run}`, type: 'OrderPlaced' });
    await Promise.all(consumers.map((c) => c.done));

    const attempts = withId(await spans(), SpanKind.CONSUMER, `placed-${run}`);
    expect(attempts.map((s) => [s.attributes[ATTR_MESSAGING_DESTINATION_NAME], s.attributes[ATTR_ENDPOINT]]).sort()).toEqual([
      [q('q1'), `${SERVICE}/${q('q1')}`],
      [q('q2'), `${SERVICE}/${q('q2')}`],
      [q('q3'), `${SERVICE}/refunds`],
    ]);
  });

  it('records the commit after a real PostgreSQL commit and before the outcome; the outbox dispatch is marked and follows it', async () => {
    const marks: Record<string, number> = {};
    const ids: Record<string, string> = {};
    const billing = await consume(q('billing'), 2, () => markProcessed([]));
    const orders = await consume(q('orders'), 1, async () => {
      // A publish inside the transaction: the premature kind the collector looks for.
      channel.sendToQueue(q('billing'), Buffer.from('{"audit":1}'), { messageId: `audit-${run}`, type: 'AuditLogged' });
      ids.audit = `audit-${run}`;
      const bill = outboxMessage({ messageType: 'BillOrder' });
      ids.bill = bill.messageId;
      await db.query('BEGIN');
      await db.query(`INSERT INTO ${table} (id) VALUES ($1)`, [currentMessage()!.messageId]);
      await db.query('COMMIT');
      marks.committed = Date.now();
      markCommitted();
      await withOutboxDispatch(async () => {
        channel.sendToQueue(q('billing'), Buffer.from('{"bill":1}'), {
          messageId: bill.messageId,
          type: 'BillOrder',
          headers: identityHeaders(bill),
        });
      });
      // Let the clock move on so "before the outcome" is visible at millisecond resolution.
      await new Promise((r) => setTimeout(r, 5));
      marks.outcome = Date.now();
      markProcessed();
    });
    channel.sendToQueue(q('orders'), Buffer.from('{"order":2}'), { messageId: `order-${run}`, type: 'SubmitOrder' });
    await Promise.all([orders.done, billing.done]);

    const all = await spans();
    const [attempt] = withId(all, SpanKind.CONSUMER, `order-${run}`);
    const committedAt = attempt.attributes[ATTR_COMMITTED_AT_MS] as number;
    expect(committedAt).toBeGreaterThanOrEqual(marks.committed);
    expect(committedAt).toBeLessThan(marks.outcome);
    expect(attempt.attributes[ATTR_OUTCOME]).toBe('processed');
    expect(attempt.attributes[ATTR_OUTGOING_MESSAGE_IDS]).toEqual([ids.audit, ids.bill]);

    const [dispatch] = withId(all, SpanKind.PRODUCER, ids.bill);
    expect(dispatch.attributes[ATTR_OUTBOX_DISPATCH]).toBe(true);
    expect(startMs(dispatch)).toBeGreaterThanOrEqual(committedAt);
    const [audit] = withId(all, SpanKind.PRODUCER, ids.audit);
    expect(audit.attributes[ATTR_OUTBOX_DISPATCH]).toBeUndefined();
    expect(startMs(audit)).toBeLessThan(committedAt);
    expect((await db.query(`SELECT id FROM ${table}`)).rows).toEqual([{ id: `order-${run}` }]);
  });

  it('digests every published body: equal for equal bodies, different otherwise, none above the limit or when off', async () => {
    const publish = (id: string, body: Buffer) =>
      channel.sendToQueue(q('digest'), body, { messageId: `digest-${id}-${run}`, type: 'Digested' });
    publish('a', Buffer.from('{"amount":10}'));
    publish('b', Buffer.from('{"amount":10}'));
    publish('c', Buffer.from('{"amount":11}'));
    publish('big', Buffer.alloc(DIGEST_LIMIT + 1, 0x61));
    publish('limit', Buffer.alloc(DIGEST_LIMIT, 0x61));
    configureBodyDigest(false);
    try {
      publish('off', Buffer.from('{"amount":10}'));
    } finally {
      configureBodyDigest({ maxBytes: DIGEST_LIMIT });
    }
    const all = await spans();
    const digest = (id: string) => withId(all, SpanKind.PRODUCER, `digest-${id}-${run}`)[0].attributes[ATTR_BODY_DIGEST];
    expect(digest('a')).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(digest('b')).toBe(digest('a'));
    expect(digest('c')).not.toBe(digest('a'));
    expect(digest('limit')).toMatch(/^sha256:/);
    expect(digest('big')).toBeUndefined();
    expect(digest('off')).toBeUndefined();
    await channel.purgeQueue(q('digest'));
  });

  it('setBusinessKey rides on the messages sent from its attempt; consumers read it back and pass it on', async () => {
    const key = `order-${run}-7`;
    const atB = deferred<{ message: ReturnType<typeof currentMessage>; header: unknown }>();
    const consumers = await Promise.all([
      consume(q('key-a'), 1, () => {
        setBusinessKey(key);
        channel.sendToQueue(q('key-b'), Buffer.from('{}'), { messageId: `b-${run}`, type: 'OrderBilled' });
        markProcessed();
      }),
      consume(q('key-b'), 1, (msg) => {
        atB.resolve({ message: currentMessage(), header: msg.properties.headers?.[HEADER_BUSINESS_KEY] });
        channel.sendToQueue(q('key-c'), Buffer.from('{}'), { messageId: `c-${run}`, type: 'OrderShipped' });
        markProcessed();
      }),
      consume(q('key-c'), 1, () => markProcessed([])),
    ]);
    channel.sendToQueue(q('key-a'), Buffer.from('{}'), { messageId: `a-${run}`, type: 'OrderPlaced' });
    await Promise.all(consumers.map((c) => c.done));

    const { message, header } = await atB.promise;
    expect(header).toBe(key);
    expect(message?.businessKey).toBe(key);
    const all = await spans();
    const keyOf = (kind: SpanKind, id: string) => withId(all, kind, id)[0].attributes[ATTR_BUSINESS_KEY];
    expect(keyOf(SpanKind.CONSUMER, `a-${run}`), 'the attempt that set it').toBe(key);
    expect(keyOf(SpanKind.PRODUCER, `a-${run}`), 'the boundary publish, sent before any key').toBeUndefined();
    expect(keyOf(SpanKind.PRODUCER, `b-${run}`)).toBe(key);
    expect(keyOf(SpanKind.CONSUMER, `b-${run}`)).toBe(key);
    expect(keyOf(SpanKind.PRODUCER, `c-${run}`), 'inherited by what the consumer sends').toBe(key);
    expect(keyOf(SpanKind.CONSUMER, `c-${run}`)).toBe(key);
  });

  it('at ratio 0 drops plain spans and keeps attempts with what runs inside them', async () => {
    const tracer = trace.getTracer('app');
    const plain = tracer.startSpan(`plain-${run}`);
    plain.end();
    const consumer = await consume(q('key-a'), 1, () => {
      tracer.startSpan(`inside-${run}`).end();
      markProcessed([]);
    });
    channel.sendToQueue(q('key-a'), Buffer.from('{}'), { messageId: `sampled-${run}`, type: 'Ping' });
    await consumer.done;
    const all = await spans();
    expect(plain.isRecording()).toBe(false);
    expect(all.some((s) => s.name === `plain-${run}`)).toBe(false);
    expect(all.some((s) => s.name === `inside-${run}`)).toBe(true);
    expect(withId(all, SpanKind.PRODUCER, `sampled-${run}`)).toHaveLength(1);
    expect(withId(all, SpanKind.CONSUMER, `sampled-${run}`)).toHaveLength(1);
  });

  it('bad input to the new API breaks neither the handler nor the consumer', async () => {
    const handled = deferred<string | undefined>();
    const consumer = await consume(
      q('key-c'),
      1,
      () => {
        setBusinessKey(42 as unknown as string);
        setBusinessKey('');
        markCommitted();
        markProcessed([]);
        handled.resolve(currentMessage()?.messageId);
      },
      consumeAs(''),
    );
    channel.sendToQueue(q('key-c'), Buffer.from('{}'), { messageId: `bad-${run}`, type: 'Ping' });
    await consumer.done;
    expect(await handled.promise).toBe(`bad-${run}`);
    const [attempt] = withId(await spans(), SpanKind.CONSUMER, `bad-${run}`);
    expect(attempt.attributes[ATTR_ENDPOINT], 'an invalid consumeAs name falls back to the default').toBe(`${SERVICE}/${q('key-c')}`);
    expect(attempt.attributes[ATTR_BUSINESS_KEY]).toBeUndefined();
    expect(attempt.attributes[ATTR_OUTCOME]).toBe('processed');
    expect(warnings.filter((w) => w.startsWith('setBusinessKey needs a non-empty string'))).toHaveLength(1);
    expect(warnings.some((w) => w.startsWith('consumeAs needs an endpoint name'))).toBe(true);
  });
});
