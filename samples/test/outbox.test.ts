/**
 * The outbox after the commit, on PGlite and the table queue: the sweeper keeps the identity
 * stored with a row, a committed attempt stays `processed` whatever goes wrong after its
 * commit, and a row is claimed before it is sent so that it goes out once.
 *
 *   alpha ──Pong──► beta (appends one `pongs` row per processing: the effect counted)
 */
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { identityHeaders } from '@onceflow/instrumentation';
import {
  ATTR_COMMITTED_AT_MS,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_OUTBOX_DISPATCH,
  ATTR_OUTCOME,
  HEADER_CONVERSATION_ID,
} from '@onceflow/instrumentation/semconv';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMultiServiceTelemetry, type MultiServiceTelemetry } from '../src/telemetry/multi-service.js';
import { createGroundTruth } from '../src/faults/ground-truth.js';
import type { Database } from '../src/infra/database.js';
import { Endpoint, type Handler } from '../src/infra/endpoint.js';
import { migrate } from '../src/infra/schema.js';
import { runAs } from '../src/telemetry/service-scope.js';
import { TableQueueTransport } from '../src/transport/table-queue.js';
import type { ConsumeOptions, Delivery, Envelope, Transport } from '../src/transport/transport.js';
import { closeEmbeddedDatabase, freshEmbeddedDatabase } from './helpers.js';

/** The table queue, able to fail or slow down sends and acknowledgements on demand. */
class FaultyTransport implements Transport {
  readonly system: string;
  failSends = 0;
  failAcks = 0;
  sendDelayMs = 0;
  constructor(readonly inner: TableQueueTransport) {
    this.system = inner.system;
  }
  setup = (routes: Parameters<Transport['setup']>[0]) => this.inner.setup(routes);
  private async beforeSend() {
    if (this.sendDelayMs > 0) await sleep(this.sendDelayMs);
    if (this.failSends > 0) {
      this.failSends -= 1;
      throw new Error('broker unreachable (injected)');
    }
  }
  send = async (queue: string, envelope: Envelope) => {
    await this.beforeSend();
    return this.inner.send(queue, envelope);
  };
  publish = async (envelope: Envelope) => {
    await this.beforeSend();
    return this.inner.publish(envelope);
  };
  consume = (queue: string, onDelivery: (d: Delivery) => Promise<void>, options: ConsumeOptions) =>
    this.inner.consume(
      queue,
      (d) =>
        onDelivery({
          ...d,
          ack: async () => {
            if (this.failAcks > 0) {
              this.failAcks -= 1;
              throw new Error('channel closed before the ack (injected)');
            }
            return d.ack();
          },
        }),
      options,
    );
  pending = (queues: string[]) => this.inner.pending(queues);
  deadLetters = () => this.inner.deadLetters();
  close = () => this.inner.close();
}

const exporter = new InMemorySpanExporter();
let telemetry: MultiServiceTelemetry;
let db: Database;
let transport: FaultyTransport;
let endpoints: Endpoint[] = [];

beforeAll(() => {
  telemetry = startMultiServiceTelemetry({ services: ['alpha', 'beta'], fallbackService: 'outside', exporterFor: () => exporter });
});
afterAll(async () => {
  await telemetry.shutdown();
  await closeEmbeddedDatabase();
});
afterEach(async () => {
  await Promise.all(endpoints.map((e) => e.stop()));
  endpoints = [];
  exporter.reset();
});

const handlers: Record<string, Record<string, Handler>> = {
  alpha: {
    async Ping(ctx) {
      ctx.send('beta', 'Pong', { from: ctx.delivery.messageId });
    },
  },
  beta: {
    async Pong(ctx) {
      await ctx.tx.query('INSERT INTO pongs (message_id) VALUES ($1)', [ctx.delivery.messageId]);
    },
  },
};

async function setUp(): Promise<void> {
  db = await freshEmbeddedDatabase();
  await migrate(db);
  await db.query('CREATE TABLE pongs (message_id text NOT NULL)');
  transport = new FaultyTransport(new TableQueueTransport(db, { visibilityTimeoutMs: 2_000, pollIntervalMs: 20 }));
  await transport.setup([
    { queue: 'alpha', commands: ['Ping'], events: [] },
    { queue: 'beta', commands: ['Pong'], events: [] },
  ]);
}

function endpoint(name: 'alpha' | 'beta', outbox = { sweepIntervalMs: 60_000, staleAfterMs: 0, claimMs: 10_000 }): Endpoint {
  const e = new Endpoint(name, handlers[name], {
    db,
    transport,
    truth: createGroundTruth(),
    plan: { seed: 'outbox' },
    retry: { immediate: 1, delaysMs: [20] },
    logger: pino({ level: 'silent' }),
    concurrency: 1,
    outbox,
  });
  endpoints.push(e);
  return e;
}

async function startBoth(): Promise<{ alpha: Endpoint; beta: Endpoint }> {
  const alpha = endpoint('alpha');
  const beta = endpoint('beta');
  await runAs('alpha', () => alpha.start());
  await runAs('beta', () => beta.start());
  return { alpha, beta };
}

const ping = (id: string) =>
  runAs('outside', () => transport.inner.send('alpha', { messageId: id, messageType: 'Ping', headers: {}, body: '{}' }));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const pongCount = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM pongs')).rows[0].n);
const undispatched = async () =>
  Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE dispatched_at IS NULL')).rows[0].n);
const consumerSpans = async (service: string) => {
  await telemetry.forceFlush();
  return exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER && s.resource.attributes['service.name'] === service);
};

describe('the outbox after the commit', () => {
  it('a row recovered by the sweeper keeps the conversation stored with it', async () => {
    await setUp();
    const alpha = endpoint('alpha');
    // A crash between commit and dispatch left this row behind; no attempt is running now.
    const headers = identityHeaders({
      messageId: 'pong-1',
      conversationId: 'conv-of-the-order',
      causationId: 'ping-1',
      messageType: 'Pong',
    });
    await db.query(
      `INSERT INTO outbox (endpoint, message_id, incoming_id, kind, destination, message_type, headers, body)
       VALUES ('alpha', 'pong-1', 'ping-1', 'send', 'beta', 'Pong', $1, '{}')`,
      [JSON.stringify(headers)],
    );
    await alpha.sweep();
    const { rows } = await db.query<{ headers: Record<string, string> }>("SELECT headers FROM queue_messages WHERE message_id = 'pong-1'");
    expect(rows.map((r) => r.headers[HEADER_CONVERSATION_ID])).toEqual(['conv-of-the-order']);
    await telemetry.forceFlush();
    const sends = exporter
      .getFinishedSpans()
      .filter((s) => s.kind === SpanKind.PRODUCER && s.attributes[ATTR_MESSAGING_MESSAGE_ID] === 'pong-1');
    expect(sends.map((s) => s.attributes[ATTR_MESSAGING_CONVERSATION_ID])).toEqual(['conv-of-the-order']);
  });

  it('an attempt whose dispatch fails after its commit stays processed; the sweeper sends the row', async () => {
    await setUp();
    const { alpha } = await startBoth();
    transport.failSends = 1;
    await ping('ping-dispatch');
    await until('alpha committed', async () => ((await undispatched()) === 1 ? true : undefined));
    const [attempt, ...others] = await until('the attempt span', async () => {
      const spans = await consumerSpans('alpha');
      return spans.length > 0 ? spans : undefined;
    });
    expect(others).toEqual([]);
    expect(attempt.attributes[ATTR_OUTCOME]).toBe('processed');
    expect(attempt.attributes[ATTR_COMMITTED_AT_MS]).toEqual(expect.any(Number));
    expect(attempt.events.map((e) => e.name)).toContain('onceflow.outbox.dispatch_failed');
    await alpha.sweep();
    await until('beta processed the recovered Pong', async () => ((await pongCount()) === 1 ? true : undefined));
    await telemetry.forceFlush();
    const pongSends = exporter
      .getFinishedSpans()
      .filter((s) => s.kind === SpanKind.PRODUCER && s.attributes[ATTR_MESSAGING_DESTINATION_NAME] === 'beta');
    // The sweeper's send (the failed one never reached the transport) is an outbox dispatch after the commit.
    expect(pongSends.map((s) => s.attributes[ATTR_OUTBOX_DISPATCH])).toEqual([true]);
    expect(await undispatched()).toBe(0);
    // The Ping was acknowledged: never retried, never processed again.
    expect((await consumerSpans('alpha')).map((s: ReadableSpan) => s.attributes[ATTR_OUTCOME])).toEqual(['processed']);
  });

  it('an attempt whose acknowledgement fails after its commit stays processed; the redelivery is a duplicate', async () => {
    await setUp();
    await startBoth();
    transport.failAcks = 1;
    await ping('ping-ack');
    const outcomes = await until('the redelivery', async () => {
      const spans = await consumerSpans('alpha');
      return spans.length >= 2 ? spans.map((s) => s.attributes[ATTR_OUTCOME]) : undefined;
    });
    expect(outcomes).toEqual(['processed', 'duplicate']);
    await until('beta processed the Pong', async () => ((await pongCount()) === 1 ? true : undefined));
    await sleep(300);
    expect(await pongCount()).toBe(1);
  });

  it.each([
    { name: 'the attempt and the sweeper', second: (a: Endpoint) => a.sweep() },
    { name: 'two processes of the endpoint', second: () => endpoint('alpha').dispatchPending('ping-race') },
  ])('claims a row before sending it: $name send it once', async ({ second }) => {
    await setUp();
    const alpha = endpoint('alpha');
    await db.query(
      `INSERT INTO outbox (endpoint, message_id, incoming_id, kind, destination, message_type, headers, body)
       VALUES ('alpha', 'pong-race', 'ping-race', 'send', 'beta', 'Pong', '{}', '{}')`,
    );
    transport.sendDelayMs = 200;
    await Promise.all([alpha.dispatchPending('ping-race'), second(alpha)]);
    const { rows } = await db.query("SELECT id FROM queue_messages WHERE message_id = 'pong-race'");
    expect(rows).toHaveLength(1);
    expect(await undispatched()).toBe(0);
  });

  it('a claim held by a dispatcher that crashed runs out, and the sweeper sends the row', async () => {
    await setUp();
    const alpha = endpoint('alpha', { sweepIntervalMs: 60_000, staleAfterMs: 0, claimMs: 300 });
    await db.query(
      `INSERT INTO outbox (endpoint, message_id, incoming_id, kind, destination, message_type, headers, body, claim_token, claimed_until)
       VALUES ('alpha', 'pong-crash', 'ping-crash', 'send', 'beta', 'Pong', '{}', '{}', 'dead-dispatcher', clock_timestamp() + interval '300 milliseconds')`,
    );
    await alpha.sweep();
    expect((await db.query("SELECT id FROM queue_messages WHERE message_id = 'pong-crash'")).rows).toHaveLength(0);
    await sleep(400);
    await alpha.sweep();
    expect((await db.query("SELECT id FROM queue_messages WHERE message_id = 'pong-crash'")).rows).toHaveLength(1);
  });
});
