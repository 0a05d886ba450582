/**
 * RabbitMQ transport (amqplib). Commands go through the default exchange to the endpoint's
 * queue, events through a direct exchange keyed by message type. AMQP's own `messageId`,
 * `type` and `correlationId` properties carry the identity, so the OpenTelemetry amqplib
 * instrumentation (with Onceflow's hooks) traces publish and consume without help from here.
 * Retries are republished with the next attempt number, delayed through a per-queue retry
 * queue whose expired messages dead-letter back to the main queue; dead letters go to
 * `<queue>.dead`.
 */
import { createRequire } from 'node:module';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { HEADER_ATTEMPT, HEADER_CONVERSATION_ID } from '@onceflow/instrumentation/semconv';
import type { Consumer, ConsumeOptions, Delivery, Envelope, QueueRoute, Transport } from './transport.js';

export interface RabbitOptions {
  url: string;
  /** Prefix of every queue and exchange this system declares. */
  prefix: string;
}

export async function createRabbitTransport(options: RabbitOptions): Promise<Transport> {
  // Loaded through `require`, where OpenTelemetry's amqplib instrumentation patches it (an
  // ESM import of this CommonJS package bypasses that hook unless the ESM loader hook runs).
  const amqp = createRequire(import.meta.url)('amqplib') as typeof import('amqplib');
  const connection = await amqp.connect(options.url);
  const publisher = await connection.createConfirmChannel();
  return new RabbitTransport(connection, publisher, options.prefix, () => amqp.connect(options.url));
}

class RabbitTransport implements Transport {
  readonly system = 'rabbitmq';
  private readonly queues = new Set<string>();
  private readonly inFlight = new Map<string, number>();
  private readonly dead: { queue: string; messageId: string; messageType: string; reason: string }[] = [];
  private readonly channels: Channel[] = [];
  private readonly consumerConnections: ChannelModel[] = [];
  /** Redeliveries seen per (queue, message id, counted attempt): classic queues only flag them. */
  private readonly redeliveries = new Map<string, number>();

  constructor(
    private readonly connection: ChannelModel,
    private readonly publisher: ConfirmChannel,
    private readonly prefix: string,
    private readonly connect: () => Promise<ChannelModel>,
  ) {}

  private name(queue: string, suffix = '') {
    return `${this.prefix}.${queue}${suffix}`;
  }

  private get exchange() {
    return `${this.prefix}.events`;
  }

  async setup(routes: QueueRoute[]): Promise<void> {
    const ch = this.publisher;
    await ch.assertExchange(this.exchange, 'direct', { durable: true });
    for (const route of routes) {
      const main = this.name(route.queue);
      this.queues.add(route.queue);
      await ch.assertQueue(main, { durable: true });
      await ch.assertQueue(this.name(route.queue, '.retry'), {
        durable: true,
        arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': main },
      });
      await ch.assertQueue(this.name(route.queue, '.dead'), { durable: true });
      for (const type of route.events) await ch.bindQueue(main, this.exchange, type);
    }
  }

  private properties(envelope: Envelope, extra: Record<string, string> = {}) {
    return {
      messageId: envelope.messageId,
      type: envelope.messageType,
      correlationId: envelope.headers[HEADER_CONVERSATION_ID],
      headers: { ...envelope.headers, ...extra },
      persistent: true,
      contentType: 'application/json',
    };
  }

  async send(queue: string, envelope: Envelope): Promise<void> {
    this.publisher.sendToQueue(this.name(queue), Buffer.from(envelope.body), this.properties(envelope));
    await this.publisher.waitForConfirms();
  }

  async publish(envelope: Envelope): Promise<void> {
    this.publisher.publish(this.exchange, envelope.messageType, Buffer.from(envelope.body), this.properties(envelope));
    await this.publisher.waitForConfirms();
  }

  async consume(queue: string, onDelivery: (d: Delivery) => Promise<void>, options: ConsumeOptions): Promise<Consumer> {
    // Its own connection, opened in the consuming service's context: deliveries then arrive
    // in that context, so their spans are attributed to the service (see multi-service.ts).
    const connection = await this.connect();
    this.consumerConnections.push(connection);
    const channel = await connection.createChannel();
    this.channels.push(channel);
    await channel.prefetch(options.concurrency);
    const active = new Set<Promise<void>>();
    const { consumerTag } = await channel.consume(this.name(queue), (msg) => {
      if (!msg) return;
      this.inFlight.set(queue, (this.inFlight.get(queue) ?? 0) + 1);
      const work = onDelivery(this.toDelivery(queue, channel, msg))
        .catch(() => undefined)
        .finally(() => {
          this.inFlight.set(queue, (this.inFlight.get(queue) ?? 1) - 1);
          active.delete(work);
        });
      active.add(work);
    });
    return {
      stop: async () => {
        await channel.cancel(consumerTag).catch(() => undefined);
        await Promise.allSettled([...active]);
        await channel.close().catch(() => undefined);
      },
    };
  }

  private toDelivery(queue: string, channel: Channel, msg: ConsumeMessage): Delivery {
    const rawHeaders = msg.properties.headers ?? {};
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(rawHeaders))
      if (v !== undefined && v !== null) headers[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
    const counted = Number(headers[HEADER_ATTEMPT] ?? '1') || 1;
    const key = `${queue}\u0000${msg.properties.messageId}\u0000${counted}`;
    const redeliveries = msg.fields.redelivered ? (this.redeliveries.get(key) ?? 0) + 1 : 0;
    if (redeliveries > 0) this.redeliveries.set(key, redeliveries);
    const attempt = counted + redeliveries;
    const envelope: Envelope = {
      messageId: msg.properties.messageId ?? '',
      messageType: msg.properties.type ?? '',
      headers,
      body: msg.content.toString('utf8'),
    };
    let settled = false;
    const settle = (fn: () => void, done = true) => {
      if (settled) return;
      settled = true;
      if (done) this.redeliveries.delete(key);
      fn();
    };
    return {
      ...envelope,
      queue,
      attempt,
      redelivered: msg.fields.redelivered,
      ack: async () => settle(() => channel.ack(msg)),
      retry: async (delayMs) => {
        const next = this.properties(envelope, { [HEADER_ATTEMPT]: String(attempt + 1) });
        if (delayMs > 0) {
          this.publisher.sendToQueue(this.name(queue, '.retry'), msg.content, { ...next, expiration: String(delayMs) });
        } else {
          this.publisher.sendToQueue(this.name(queue), msg.content, next);
        }
        await this.publisher.waitForConfirms();
        settle(() => channel.ack(msg));
      },
      deadLetter: async (reason) => {
        this.publisher.sendToQueue(this.name(queue, '.dead'), msg.content, this.properties(envelope, { 'x-dead-reason': reason }));
        await this.publisher.waitForConfirms();
        this.dead.push({ queue, messageId: envelope.messageId, messageType: envelope.messageType, reason });
        settle(() => channel.ack(msg));
      },
      // The broker redelivers an unacknowledged message when its consumer goes away; a
      // requeueing nack has the same effect without tearing the channel down.
      abandon: async () => settle(() => channel.nack(msg, false, true), false),
    };
  }

  async pending(queues: string[]): Promise<number> {
    let total = 0;
    for (const queue of queues) {
      for (const suffix of ['', '.retry']) {
        const { messageCount } = await this.publisher.checkQueue(this.name(queue, suffix));
        total += messageCount;
      }
      total += this.inFlight.get(queue) ?? 0;
    }
    return total;
  }

  async deadLetters() {
    return [...this.dead];
  }

  async close(): Promise<void> {
    for (const ch of this.channels) await ch.close().catch(() => undefined);
    for (const c of this.consumerConnections) await c.close().catch(() => undefined);
    await this.publisher.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }

  /** Deletes every queue and the exchange (tests clean up after themselves). */
  async destroy(): Promise<void> {
    for (const queue of this.queues) {
      for (const suffix of ['', '.retry', '.dead']) await this.publisher.deleteQueue(this.name(queue, suffix)).catch(() => undefined);
    }
    await this.publisher.deleteExchange(this.exchange).catch(() => undefined);
  }
}
