/**
 * The embedded transport: a queue in a PostgreSQL table (PGlite by default). Receiving leases
 * a row for a visibility timeout and counts the attempt; an unacknowledged row becomes visible
 * again when the lease runs out (at-least-once redelivery); dead letters move to their own
 * table. Send and handle are traced with Onceflow's `withSend`/`withHandle`, since no
 * OpenTelemetry instrumentation knows this transport.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readIdentityHeaders, withHandle, withSend } from '@onceflow/instrumentation';
import type { Database } from '../infra/database.js';
import type { Consumer, ConsumeOptions, Delivery, Envelope, QueueRoute, Transport } from './transport.js';

export const TABLE_QUEUE_SYSTEM = 'onceflow-pgqueue';

export interface TableQueueOptions {
  /** How long a received message stays invisible before it is redelivered. */
  visibilityTimeoutMs: number;
  /** Idle poll interval (sends in the same process wake consumers at once). */
  pollIntervalMs: number;
}

export const DEFAULT_TABLE_QUEUE_OPTIONS: TableQueueOptions = { visibilityTimeoutMs: 5_000, pollIntervalMs: 100 };

export interface TableQueueEvents {
  onError?(error: unknown): void;
  /** An acknowledgement came after the lease expired: the message is redelivered. */
  onLeaseLost?(message: { queue: string; messageId: string; messageType: string }): void;
}

interface QueueRow {
  id: string;
  queue: string;
  message_id: string;
  message_type: string;
  headers: Record<string, string>;
  body: string;
  attempts: number;
}

export class TableQueueTransport implements Transport {
  readonly system = TABLE_QUEUE_SYSTEM;
  private readonly options: TableQueueOptions;
  private readonly wake = new EventEmitter();

  constructor(
    private readonly db: Database,
    options: Partial<TableQueueOptions> = {},
    private readonly events: TableQueueEvents = {},
  ) {
    this.options = {
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? DEFAULT_TABLE_QUEUE_OPTIONS.visibilityTimeoutMs,
      pollIntervalMs: options.pollIntervalMs ?? DEFAULT_TABLE_QUEUE_OPTIONS.pollIntervalMs,
    };
    this.wake.setMaxListeners(0);
  }

  async setup(routes: QueueRoute[]): Promise<void> {
    for (const route of routes) {
      for (const type of route.events) {
        await this.db.query('INSERT INTO queue_subscriptions (message_type, queue) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          type,
          route.queue,
        ]);
      }
    }
  }

  send(queue: string, envelope: Envelope): Promise<void> {
    return withSend(this.sendMeta(queue, envelope), async (headers) => {
      await this.db.query('INSERT INTO queue_messages (queue, message_id, message_type, headers, body) VALUES ($1, $2, $3, $4, $5)', [
        queue,
        envelope.messageId,
        envelope.messageType,
        JSON.stringify({ ...envelope.headers, ...headers }),
        envelope.body,
      ]);
      this.wake.emit(queue);
    });
  }

  publish(envelope: Envelope): Promise<void> {
    return withSend(this.sendMeta(envelope.messageType, envelope), async (headers) => {
      const { rows } = await this.db.query<{ queue: string }>(
        `INSERT INTO queue_messages (queue, message_id, message_type, headers, body)
         SELECT queue, $1, $2, $3, $4 FROM queue_subscriptions WHERE message_type = $2 RETURNING queue`,
        [envelope.messageId, envelope.messageType, JSON.stringify({ ...envelope.headers, ...headers }), envelope.body],
      );
      for (const row of rows) this.wake.emit(row.queue);
    });
  }

  /**
   * The send carries the identity the envelope already has (stored with an outbox row), so a
   * message recovered by a sweeper outside any attempt stays in its conversation.
   */
  async redeliver(queue: string, envelope: Envelope): Promise<void> {
    await this.db.query('INSERT INTO queue_messages (queue, message_id, message_type, headers, body) VALUES ($1, $2, $3, $4, $5)', [
      queue,
      envelope.messageId,
      envelope.messageType,
      JSON.stringify(envelope.headers),
      envelope.body,
    ]);
    this.wake.emit(queue);
  }

  private sendMeta(destination: string, envelope: Envelope) {
    const stored = readIdentityHeaders(envelope.headers);
    return {
      system: this.system,
      destination,
      messageType: envelope.messageType,
      messageId: envelope.messageId,
      conversationId: stored.conversationId,
      causationId: stored.causationId,
      idempotencyKey: stored.idempotencyKey,
      body: envelope.body,
      payload: { bytes: Buffer.byteLength(envelope.body), ...envelope.payload },
    };
  }

  async consume(queue: string, onDelivery: (delivery: Delivery) => Promise<void>, options: ConsumeOptions): Promise<Consumer> {
    let running = true;
    let wakeUp: (() => void) | undefined;
    const onWake = () => wakeUp?.();
    this.wake.on(queue, onWake);
    const worker = async () => {
      while (running) {
        let row: QueueRow | undefined;
        try {
          row = await this.receive(queue);
        } catch (error) {
          if (!running) return;
          // The database is unavailable for a moment: try again after a pause, never crash.
          this.events.onError?.(error);
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          continue;
        }
        if (!row) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.options.pollIntervalMs);
            wakeUp = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          continue;
        }
        const delivery = this.toDelivery(row);
        if (options.traced === false) {
          await onDelivery(delivery).catch(() => undefined);
          continue;
        }
        await withHandle(
          {
            system: this.system,
            destination: queue,
            headers: row.headers,
            attempt: row.attempts,
            redelivered: row.attempts > 1,
            messageType: row.message_type,
            messageId: row.message_id,
          },
          () => onDelivery(delivery),
        ).catch(() => undefined);
      }
    };
    const workers = Array.from({ length: options.concurrency }, () => worker());
    return {
      stop: async () => {
        running = false;
        wakeUp?.();
        this.wake.off(queue, onWake);
        await Promise.allSettled(workers);
      },
    };
  }

  private async receive(queue: string): Promise<QueueRow | undefined> {
    const lease = randomUUID();
    const { rows } = await this.db.query<QueueRow>(
      `UPDATE queue_messages
          SET attempts = attempts + 1, lease = $2,
              visible_at = clock_timestamp() + make_interval(secs => $3::double precision / 1000)
        WHERE id = (SELECT id FROM queue_messages
                     WHERE queue = $1 AND visible_at <= clock_timestamp()
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id, queue, message_id, message_type, headers, body, attempts, lease`,
      [queue, lease, this.options.visibilityTimeoutMs],
    );
    const row = rows[0];
    if (row) (row as QueueRow & { lease: string }).lease = lease;
    return row;
  }

  private toDelivery(row: QueueRow): Delivery {
    const lease = (row as QueueRow & { lease: string }).lease;
    const headers = typeof row.headers === 'string' ? (JSON.parse(row.headers) as Record<string, string>) : row.headers;
    return {
      queue: row.queue,
      messageId: row.message_id,
      messageType: row.message_type,
      headers,
      body: row.body,
      attempt: row.attempts,
      redelivered: row.attempts > 1,
      ack: async () => {
        const { rows } = await this.db.query('DELETE FROM queue_messages WHERE id = $1 AND lease = $2 RETURNING id', [row.id, lease]);
        // The lease ran out while the message was being handled: it was (or will be) delivered again.
        if (rows.length === 0) this.events.onLeaseLost?.({ queue: row.queue, messageId: row.message_id, messageType: row.message_type });
      },
      retry: async (delayMs) => {
        await this.db.query(
          `UPDATE queue_messages SET lease = NULL,
                  visible_at = clock_timestamp() + make_interval(secs => $3::double precision / 1000)
            WHERE id = $1 AND lease = $2`,
          [row.id, lease, delayMs],
        );
        if (delayMs === 0) this.wake.emit(row.queue);
        else setTimeout(() => this.wake.emit(row.queue), delayMs).unref();
      },
      deadLetter: async (reason) => {
        await this.db.transaction(async (tx) => {
          const moved = await tx.query(
            `INSERT INTO queue_dead_letters (id, queue, message_id, message_type, headers, body, attempts, reason)
             SELECT id, queue, message_id, message_type, headers, body, attempts, $3
               FROM queue_messages WHERE id = $1 AND lease = $2 RETURNING id`,
            [row.id, lease, reason],
          );
          if (moved.rows.length > 0) await tx.query('DELETE FROM queue_messages WHERE id = $1', [row.id]);
        });
      },
      abandon: async () => undefined,
      extendLease: async () => {
        await this.db.query(
          `UPDATE queue_messages SET visible_at = clock_timestamp() + make_interval(secs => $3::double precision / 1000)
            WHERE id = $1 AND lease = $2`,
          [row.id, lease, this.options.visibilityTimeoutMs],
        );
      },
    };
  }

  async pending(queues: string[]): Promise<number> {
    const { rows } = await this.db.query<{ n: string | number }>('SELECT count(*) AS n FROM queue_messages WHERE queue = ANY($1)', [
      queues,
    ]);
    return Number(rows[0]?.n ?? 0);
  }

  async deadLetters() {
    const { rows } = await this.db.query<{ queue: string; message_id: string; message_type: string; reason: string }>(
      'SELECT queue, message_id, message_type, reason FROM queue_dead_letters ORDER BY dead_at',
    );
    return rows.map((r) => ({ queue: r.queue, messageId: r.message_id, messageType: r.message_type, reason: r.reason }));
  }

  async close(): Promise<void> {
    this.wake.removeAllListeners();
  }
}
