/**
 * Exactly-once processing on a key-value store that offers only single-key compare-and-set:
 * the workshop's deduplication without cross-entity transactions. A message changes one
 * entity. The entity's document holds its state, the ids of the messages applied to it, and
 * the outgoing messages of those not yet dispatched; one compare-and-set on its version
 * applies a message. The outgoing messages are then dispatched from the document and cleared
 * from it. A crash at any step leaves a document the redelivered message finishes:
 *
 *   load ─► applied already? ─no─► apply, CAS {state, processed + id, outbox[id]} ─► send outbox[id] ─► CAS {outbox − id} ─► ack
 *                └─yes─► outbox[id] still there? send it, clear it ─► ack (a duplicate)
 *
 * Nothing is sent before the commit (no ghost), what the commit implies stays in the document
 * until it was sent (nothing lost), and the processed ids make a redelivery a no-op (no
 * duplicate effect). Outgoing ids are deterministic, so a re-send after a crash between send
 * and clear is a duplicate delivery the receiver's own deduplication absorbs.
 */
import { trace } from '@opentelemetry/api';
import {
  deterministicMessageId,
  identityHeaders,
  markDuplicate,
  markFailed,
  markProcessed,
  outgoingIdentity,
  withOutboxDispatch,
} from '@onceflow/instrumentation';
import type { Logger } from 'pino';
import { failAttempt, type RetryPolicy, UnrecoverableError } from '../infra/endpoint.js';
import type { Consumer, Delivery, Envelope, Transport } from '../transport/transport.js';
import type { DocumentStore } from './document-store.js';

export interface EntityContext {
  messageId: string;
  endpoint: string;
  /** A command to `queue`, kept in the document until dispatched; returns its deterministic id. */
  send(queue: string, messageType: string, body: unknown, logicalName?: string): string;
  /** An event to every subscriber, kept in the document until dispatched. */
  publish(messageType: string, body: unknown, logicalName?: string): string;
}

/** How one message type changes its entity. `apply` must not do I/O: it may run again after a conflict. */
export interface EntityHandler<S = never, B = never> {
  entityOf(body: B): string;
  initial(): S;
  apply(state: S, body: B, context: EntityContext): S;
}

export interface StoredMessage {
  kind: 'send' | 'publish';
  destination: string;
  messageId: string;
  messageType: string;
  headers: Record<string, string>;
  body: string;
}

export interface EntityDocument<S = unknown> {
  state: S;
  /** Ids of the messages applied, with when (epoch ms), kept for the dedup window. */
  processed: Record<string, number>;
  /** Outgoing messages not yet dispatched, by the id of the message that produced them. */
  outbox: Record<string, StoredMessage[]>;
}

/** The boundaries between steps, in order: a crash can be injected at each (`sent N` per message). */
export type EntityStep = 'received' | 'loaded' | 'applied' | 'committed' | `sent ${number}` | 'cleared';

/** The process dies here: nothing more of this attempt happens; the broker redelivers the message. */
export class SimulatedCrash extends Error {}

export interface EntityEndpointDeps {
  store: DocumentStore;
  transport: Transport;
  retry: RetryPolicy;
  logger: Logger;
  concurrency: number;
  /** How long processed ids are kept (the dedup window); a redelivery after it is applied again. */
  dedupWindowMs: number;
  /** Put before every key (isolates runs sharing a store). */
  keyPrefix?: string;
  /** Fault injection: true to crash at this step of this delivery. */
  crashAt?: (step: EntityStep, delivery: Delivery) => boolean;
  /**
   * A message this endpoint had already sent goes out again: a crash between send and clear,
   * or two copies of one incoming message, the second finding the first's outbox not cleared
   * yet. For the ground truth: each is a duplicate delivery to its receivers.
   */
  onResend?: (message: StoredMessage) => void;
}

/** How long a sent id is remembered for `onResend`: far beyond any redelivery the samples make. */
const SENT_MEMORY_MS = 10 * 60_000;

export class EntityEndpoint {
  private consumer: Consumer | undefined;
  /** Ids this endpoint has sent, with when; see `onResend`. */
  private readonly sent = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly handlers: Record<string, EntityHandler<unknown, unknown>>,
    private readonly deps: EntityEndpointDeps,
  ) {}

  /** The store key of an entity's document. */
  keyOf(entity: string): string {
    return `${this.deps.keyPrefix ?? ''}${this.name}/${entity}`;
  }

  async start(): Promise<void> {
    this.consumer = await this.deps.transport.consume(this.name, (d) => this.handle(d), { concurrency: this.deps.concurrency });
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }

  async handle(delivery: Delivery): Promise<void> {
    let dispatched: boolean;
    const progress = { committed: false };
    try {
      dispatched = await this.attempt(delivery, progress);
    } catch (error) {
      if (error instanceof SimulatedCrash) {
        // A dead process acknowledges nothing: the lease runs out and the message comes again.
        // An attempt that committed stays processed: what it sent is no ghost.
        if (!progress.committed) markFailed(error);
        await delivery.abandon();
        return;
      }
      await failAttempt(delivery, error as Error, this.deps.retry);
      return;
    }
    // Committed (or applied before): an outbox the document still holds comes back with the
    // message, whose next delivery dispatches it; so the message is not acknowledged yet.
    const settle = dispatched ? delivery.ack() : delivery.retry(this.deps.retry.delaysMs[0] ?? 0);
    await settle.catch((error: unknown) =>
      this.deps.logger.warn({ err: error, messageId: delivery.messageId }, 'settling after commit failed'),
    );
  }

  /** Resolves whether everything the message implies has been dispatched. */
  private async attempt(delivery: Delivery, progress: { committed: boolean }): Promise<boolean> {
    const handler = this.handlers[delivery.messageType];
    if (!handler) throw new UnrecoverableError(`${this.name} has no handler for ${delivery.messageType}`);
    const body = JSON.parse(delivery.body) as unknown;
    const key = this.keyOf(handler.entityOf(body as never));
    const id = delivery.messageId;
    this.step('received', delivery);
    for (;;) {
      const stored = await this.deps.store.get(key);
      const doc: EntityDocument = stored
        ? (JSON.parse(stored.value) as EntityDocument)
        : { state: handler.initial(), processed: {}, outbox: {} };
      this.step('loaded', delivery);
      if (doc.processed[id] !== undefined) {
        const pending = doc.outbox[id];
        const dispatched = pending ? await this.dispatchAndClear(key, id, pending, delivery) : true;
        markDuplicate(pending ? 'entity document: applied before, outbox finished now' : 'entity document: applied before');
        return dispatched;
      }
      const outgoing: StoredMessage[] = [];
      const add = (kind: StoredMessage['kind'], destination: string, messageType: string, payload: unknown, logicalName?: string) => {
        const messageId = deterministicMessageId(id, this.name, logicalName ?? messageType);
        const headers = identityHeaders(outgoingIdentity({ messageType, messageId }));
        outgoing.push({ kind, destination, messageId, messageType, headers, body: JSON.stringify(payload) });
        return messageId;
      };
      const state = handler.apply(structuredClone(doc.state) as never, body as never, {
        messageId: id,
        endpoint: this.name,
        send: (queue, messageType, payload, logicalName) => add('send', queue, messageType, payload, logicalName),
        publish: (messageType, payload, logicalName) => add('publish', messageType, messageType, payload, logicalName),
      });
      this.step('applied', delivery);
      const now = Date.now();
      const next: EntityDocument = {
        state,
        processed: { ...this.withinWindow(doc, now), [id]: now },
        outbox: outgoing.length > 0 ? { ...doc.outbox, [id]: outgoing } : doc.outbox,
      };
      // Another message changed the entity since it was read: apply this one to the new state.
      if (!(await this.deps.store.compareAndSet(key, stored?.version ?? 0, JSON.stringify(next)))) continue;
      markProcessed(outgoing.map((o) => o.messageId));
      progress.committed = true;
      this.step('committed', delivery);
      return outgoing.length > 0 ? this.dispatchAndClear(key, id, outgoing, delivery) : true;
    }
  }

  /** Processed ids still inside the dedup window; an id whose outbox is pending always stays. */
  private withinWindow(doc: EntityDocument, now: number): Record<string, number> {
    const kept: Record<string, number> = {};
    for (const [id, at] of Object.entries(doc.processed)) {
      if (now - at < this.deps.dedupWindowMs || doc.outbox[id]) kept[id] = at;
    }
    return kept;
  }

  /** Sends the messages `id` left in the document, then clears them; false when a send failed. */
  private async dispatchAndClear(key: string, id: string, messages: StoredMessage[], delivery: Delivery): Promise<boolean> {
    try {
      for (const [i, m] of messages.entries()) {
        const envelope: Envelope = { messageId: m.messageId, messageType: m.messageType, headers: m.headers, body: m.body };
        await withOutboxDispatch(() =>
          m.kind === 'send' ? this.deps.transport.send(m.destination, envelope) : this.deps.transport.publish(envelope),
        );
        this.remember(m);
        this.step(`sent ${i + 1}`, delivery);
      }
    } catch (error) {
      if (error instanceof SimulatedCrash) throw error;
      trace.getActiveSpan()?.addEvent('onceflow.outbox.dispatch_failed', { 'exception.message': (error as Error).message });
      this.deps.logger.warn({ err: error, messageId: id }, 'dispatch from the entity document failed; the redelivery retries it');
      return false;
    }
    for (;;) {
      const stored = await this.deps.store.get(key);
      if (!stored) return true;
      const doc = JSON.parse(stored.value) as EntityDocument;
      if (!doc.outbox[id]) break;
      const outbox = { ...doc.outbox };
      delete outbox[id];
      if (await this.deps.store.compareAndSet(key, stored.version, JSON.stringify({ ...doc, outbox }))) break;
    }
    this.step('cleared', delivery);
    return true;
  }

  private remember(message: StoredMessage): void {
    const now = Date.now();
    // Oldest first (deleted before set keeps the map in time order): forget only what expired.
    for (const [id, at] of this.sent) {
      if (now - at <= SENT_MEMORY_MS) break;
      this.sent.delete(id);
    }
    if (this.sent.delete(message.messageId)) this.deps.onResend?.(message);
    this.sent.set(message.messageId, now);
  }

  private step(step: EntityStep, delivery: Delivery): void {
    if (this.deps.crashAt?.(step, delivery)) throw new SimulatedCrash(`crashed after step "${step}" (injected)`);
  }
}
