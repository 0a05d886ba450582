/**
 * The endpoint runtime every message handler runs in: inbox deduplication and the outbox in
 * the same transaction as the handler's state, deterministic outgoing ids, dispatch after
 * commit, immediate then delayed retries, dead-letter after the last attempt. Each attempt
 * ends with exactly one Onceflow `mark*` call, which is what detection reads.
 *
 * The fault hooks live here too, because this is where each fault happens in real systems.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import {
  deterministicMessageId,
  identityHeaders,
  markDeadLettered,
  markDuplicate,
  markProcessed,
  markRetryScheduled,
  outgoingIdentity,
  withOutboxDispatch,
} from '@onceflow/instrumentation';
import type { Logger } from 'pino';
import { receiversOfOutgoing } from '../messages.js';
import { decide, type FaultConfig, type FaultPlan, faultsFor } from '../faults/faults.js';
import type { GroundTruth } from '../faults/ground-truth.js';
import type { Consumer, Delivery, Envelope, Transport } from '../transport/transport.js';
import type { Database, Sql } from './database.js';

export interface RetryPolicy {
  /** Attempts retried at once before delayed retries start. */
  immediate: number;
  /** Delay before each delayed retry; its length is the number of delayed retries. */
  delaysMs: number[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { immediate: 1, delaysMs: [500, 2_000] };

export const maxAttempts = (policy: RetryPolicy) => 1 + policy.immediate + policy.delaysMs.length;

/** How the outbox is dispatched and recovered. */
export interface OutboxOptions {
  /** How often the sweeper looks for rows whose dispatch was interrupted. */
  sweepIntervalMs: number;
  /** A row undispatched for this long is the sweeper's (younger rows are being dispatched). */
  staleAfterMs: number;
  /** How long a claim on a row lasts: a dispatcher that crashed holding it loses it after this. */
  claimMs: number;
}

export const DEFAULT_OUTBOX_OPTIONS: OutboxOptions = { sweepIntervalMs: 5_000, staleAfterMs: 10_000, claimMs: 30_000 };

export interface EndpointDeps {
  db: Database;
  transport: Transport;
  truth: GroundTruth;
  plan: FaultPlan;
  retry: RetryPolicy;
  logger: Logger;
  concurrency: number;
  outbox?: Partial<OutboxOptions>;
  /** The service this endpoint runs in (default: its name); one service may have several endpoints. */
  service?: string;
  /** False: consume without tracing (an uninstrumented service). */
  traced?: boolean;
  /** An injected crash kills the process (SIGKILL) rather than being simulated. */
  exitOnCrash?: boolean;
}

export interface Outgoing {
  kind: 'send' | 'publish';
  /** Queue for a command; the message type for an event. */
  destination: string;
  messageId: string;
  messageType: string;
  body: string;
  headers: Record<string, string>;
  payload?: Envelope['payload'];
}

export interface HandlerContext<T = unknown> {
  tx: Sql;
  body: T;
  delivery: Delivery;
  endpoint: string;
  faults: FaultConfig;
  /** A command to `queue`, stored in the outbox; returns its deterministic id. */
  send(queue: string, messageType: string, body: unknown, options?: OutgoingOptions): string;
  /** An event to every subscriber, stored in the outbox; returns its deterministic id. */
  publish(messageType: string, body: unknown, options?: OutgoingOptions): string;
  /** Work to do once the attempt has committed and dispatched (e.g. an HTTP clean-up). */
  afterCommit(work: () => Promise<void>): void;
  /** Undoes a side effect of this attempt if it does not commit (e.g. deletes the blob it stored). */
  onAbort(work: () => Promise<void>): void;
}

export interface OutgoingOptions {
  /** Distinguishes two messages of the same type from one handling; defaults to the type. */
  logicalName?: string;
  /** The body is a claim-check reference to an offloaded payload. */
  payload?: Envelope['payload'];
}

export type HandleFn = (context: HandlerContext<never>, prepared: never) => Promise<void>;

/**
 * A message handler: a function run inside the transaction, or, for work that must not hold
 * a transaction open (an HTTP call to a third party), a `prepare` step run before it, whose
 * result `handle` receives. `prepare` runs only when the inbox does not already hold the
 * message, and must be safe to repeat (it is, when its side effects are idempotent by key).
 */
export type Handler = HandleFn | { prepare: (context: PrepareContext<never>) => Promise<unknown>; handle: HandleFn };

export interface PrepareContext<T = unknown> {
  body: T;
  delivery: Delivery;
  endpoint: string;
}

/** An error no retry can fix: the message goes to the dead-letter queue at once. */
export class UnrecoverableError extends Error {}

/** A failure whose retry must wait `delayMs` (a resource held elsewhere), whatever the policy says. */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/** How often a slow handler renews its lease on the message. */
const LEASE_RENEWAL_MS = 1_000;

/** Ends an attempt that did not commit: retried (at once, then delayed), or dead-lettered after the last. */
export async function failAttempt(delivery: Delivery, error: Error, policy: RetryPolicy): Promise<void> {
  const last = error instanceof UnrecoverableError || delivery.attempt >= maxAttempts(policy);
  if (last) {
    markDeadLettered(error.message);
    await delivery.deadLetter(error.message);
    return;
  }
  const delayMs =
    error instanceof RetryLaterError
      ? error.delayMs
      : delivery.attempt <= policy.immediate
        ? 0
        : policy.delaysMs[delivery.attempt - policy.immediate - 1];
  markRetryScheduled(delayMs, error);
  await delivery.retry(delayMs);
}

/** Marks the copy a late redelivery put back, so that it is not put back again. */
const LATE_COPY_HEADER = 'x-late-redelivery';

/** Thrown by injected faults. */
class InjectedFault extends Error {}

/** The inconsistent-retry bug: this attempt published, then failed (retryable); a retry sends other bodies under the same ids. */
class PublishedThenFailed extends Error {
  constructor(readonly outgoing: Outgoing[]) {
    super('failed after publishing its messages (a retry will send them again, differently)');
  }
}

/** Ends a dry run's transaction (rolled back), carrying what it found. */
class RolledBack extends Error {
  constructor(readonly result: AttemptResult) {
    super('dry run rolled back');
  }
}

/** The ghost bug's failed commit; carries what the attempt publishes anyway. */
class GhostCommitFailure extends UnrecoverableError {
  constructor(readonly outgoing: Outgoing[]) {
    super('commit failed after the outgoing messages were published');
  }
}

type AttemptResult =
  | { outcome: 'duplicate'; reason: string }
  | { outcome: 'processed'; outgoing: Outgoing[]; lostOnPurpose: boolean; afterCommit: (() => Promise<void>)[] };

export class Endpoint {
  private consumer: Consumer | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stormRemaining = 0;
  private readonly outbox: OutboxOptions;

  constructor(
    readonly name: string,
    private readonly handlers: Record<string, Handler>,
    private readonly deps: EndpointDeps,
  ) {
    this.outbox = { ...DEFAULT_OUTBOX_OPTIONS, ...deps.outbox };
  }

  /** The faults in force now (a plan's bursts come and go). */
  get faults(): FaultConfig {
    return faultsFor(this.deps.plan, this.name, Date.now());
  }

  /** Consumes the endpoint's queue and sweeps its outbox. */
  async start(): Promise<void> {
    this.consumer = await this.deps.transport.consume(this.name, (d) => this.handle(d), {
      concurrency: this.deps.concurrency,
      traced: this.deps.traced,
    });
    this.startSweeper();
  }

  /**
   * Recovers outbox rows whose dispatch was interrupted (a crash between commit and send).
   * An HTTP edge that only sends (shop-api) runs this alone.
   */
  startSweeper(): void {
    this.sweeper = setInterval(
      () => void this.sweep().catch((error: unknown) => this.deps.logger.warn({ err: error }, 'outbox sweep failed')),
      this.outbox.sweepIntervalMs,
    );
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.consumer?.stop();
  }

  /** Runs one processing attempt; called inside the transport's consume span. */
  async handle(delivery: Delivery): Promise<void> {
    let result: AttemptResult;
    const onAbort: (() => Promise<void>)[] = [];
    try {
      result = await this.attempt(delivery, onAbort);
    } catch (error) {
      for (const undo of onAbort) {
        await undo().catch((e: Error) =>
          this.deps.logger.warn({ err: e, messageId: delivery.messageId }, 'undoing an aborted attempt failed'),
        );
      }
      await failAttempt(delivery, error as Error, this.deps.retry);
      this.deps.logger.debug({ err: error, messageId: delivery.messageId, attempt: delivery.attempt }, 'attempt failed');
      return;
    }
    // From here on the attempt has committed (or found its message already processed): what
    // goes wrong now never makes it a failed attempt, or what it sent would look like a ghost.
    if (result.outcome === 'duplicate') {
      // The earlier attempt may have committed but died before dispatching: finish its work.
      await this.dispatchAfterCommit(delivery.messageId);
      markDuplicate(result.reason);
    } else {
      // After the commit: records it (onceflow.committed_at_ms) with what the attempt produced.
      markProcessed(result.outgoing.map((o) => o.messageId));
      if (await this.crashesAfterCommit(delivery, result.outgoing)) return;
      if (!result.lostOnPurpose) await this.dispatchAfterCommit(delivery.messageId);
      for (const work of result.afterCommit) {
        await work().catch((error: Error) =>
          this.deps.logger.warn({ err: error, messageId: delivery.messageId }, 'after-commit work failed'),
        );
      }
    }
    await this.acknowledge(delivery, result.outcome === 'processed').catch((error: unknown) => {
      // The broker delivers the message again; the inbox recognises it as a duplicate.
      trace.getActiveSpan()?.addEvent('onceflow.ack_failed', { 'exception.message': (error as Error).message });
      this.deps.logger.warn({ err: error, messageId: delivery.messageId }, 'acknowledging after commit failed');
    });
  }

  /** Everything up to and including the commit; throws when the attempt did not commit. */
  private async attempt(delivery: Delivery, onAbort: (() => Promise<void>)[]): Promise<AttemptResult> {
    const handler = this.handlers[delivery.messageType];
    if (!handler) throw new UnrecoverableError(`${this.name} has no handler for ${delivery.messageType}`);
    await this.injectFailures(delivery);
    let prepared: unknown;
    if (typeof handler !== 'function') {
      if (!this.faults.dedupDisabled && (await this.alreadyProcessed(delivery.messageId))) {
        return { outcome: 'duplicate', reason: 'inbox: already processed' };
      }
      try {
        prepared = await handler.prepare({ body: JSON.parse(delivery.body) as never, delivery, endpoint: this.name });
      } catch (error) {
        // A copy of this message delivered at the same time may have committed meanwhile
        // (and cleaned up what `prepare` needed): then this copy is a duplicate, not a failure.
        if (this.faults.dedupDisabled || !(await this.alreadyProcessed(delivery.messageId))) throw error;
        return { outcome: 'duplicate', reason: 'inbox: processed by a concurrent delivery' };
      }
      if (decide(this.deps.plan, this.faults.poisonAfterPrepare, 'poison-after-prepare', this.name, delivery.messageId)) {
        // Its external call (a charge) is done; the attempt never commits, nor does any retry.
        throw new InjectedFault(`${delivery.messageType} cannot be recorded after its external call`);
      }
    }
    const handle = typeof handler === 'function' ? handler : handler.handle;
    const published = await this.publishPrematurely(delivery, handle, prepared);
    return this.deps.db
      .transaction((tx) => this.process(tx, delivery, handle, prepared, { published, onAbort }))
      .catch(async (error: unknown) => {
        if (error instanceof GhostCommitFailure) await this.publishGhosts(delivery, error.outgoing);
        if (error instanceof PublishedThenFailed) for (const o of error.outgoing) await this.transmit(o);
        throw error;
      });
  }

  /**
   * BUG (premature publish): the handler publishes straight to the broker, then commits. Its
   * messages are worked out by a run of the handler whose transaction is rolled back, sent,
   * and then the real transaction commits (recording them as dispatched): receivers may act
   * before the state they announce exists.
   */
  private async publishPrematurely(delivery: Delivery, handle: HandleFn, prepared: unknown): Promise<Set<string>> {
    const { plan, truth } = this.deps;
    const published = new Set<string>();
    if (!decide(plan, this.faults.prematurePublish, 'premature', this.name, delivery.messageId)) return published;
    const dryRun = await this.deps.db
      .transaction(async (tx) => {
        throw new RolledBack(await this.process(tx, delivery, handle, prepared, { published, dryRun: true }));
      })
      .catch((error: unknown) => {
        if (error instanceof RolledBack) return error.result;
        throw error;
      });
    if (dryRun.outcome !== 'processed') return published;
    for (const o of dryRun.outgoing) {
      truth.record({
        kind: 'premature-publish',
        messageId: o.messageId,
        service: this.name,
        messageType: o.messageType,
        detail: 'published before the commit',
      });
      await this.transmit(o);
      published.add(o.messageId);
    }
    return published;
  }

  /**
   * Dispatches the attempt's outbox after its commit. A failure is recorded on the attempt as
   * its own event and left to the sweeper: the rows stay undispatched, and the attempt stays
   * what it was (processed or duplicate).
   */
  async dispatchAfterCommit(incomingId: string): Promise<void> {
    try {
      await this.dispatchPending(incomingId);
    } catch (error) {
      trace.getActiveSpan()?.addEvent('onceflow.outbox.dispatch_failed', {
        'exception.message': (error as Error).message,
        'onceflow.outbox.incoming_id': incomingId,
      });
      this.deps.logger.warn({ err: error, incomingId }, 'outbox dispatch failed after commit; the sweeper retries it');
    }
  }

  private async injectFailures(delivery: Delivery): Promise<void> {
    const { plan, truth } = this.deps;
    const { faults, name } = this;
    const id = delivery.messageId;
    const base = { messageId: id, service: name, messageType: delivery.messageType };
    if (decide(plan, faults.slowConsumer, 'slow', name, id) && delivery.attempt === 1) {
      truth.record({ ...base, kind: 'slow-consumer', detail: `${faults.slowConsumerMs} ms` });
      // Silent work (no span ends meanwhile); the lease is renewed so the queue does not redeliver.
      for (let left = faults.slowConsumerMs; left > 0; left -= LEASE_RENEWAL_MS) {
        await delivery.extendLease?.();
        await sleep(Math.min(left, LEASE_RENEWAL_MS));
      }
    }
    if (decide(plan, faults.deferredRetry, 'deferred', name, id) && delivery.attempt === 1) {
      truth.record({ ...base, kind: 'retry', detail: `first attempt deferred by ${faults.deferredRetryMs} ms` });
      throw new RetryLaterError(`resource locked: retry in ${faults.deferredRetryMs} ms (injected)`, faults.deferredRetryMs);
    }
    if (decide(plan, faults.poison, 'poison', name, id)) {
      if (delivery.attempt === 1) truth.record({ ...base, kind: 'dead-letter', detail: 'poison message' });
      throw new InjectedFault(`poison message ${delivery.messageType} cannot be processed`);
    }
    const failing = Math.min(faults.transientFailureAttempts, maxAttempts(this.deps.retry) - 1);
    if (failing > 0 && decide(plan, faults.transientFailure, 'transient', name, id) && delivery.attempt <= failing) {
      if (delivery.attempt === 1) truth.record({ ...base, kind: 'retry', detail: `fails ${failing} attempt(s)` });
      throw new InjectedFault(`transient failure (attempt ${delivery.attempt} of ${failing} failing)`);
    }
  }

  /**
   * The injected crash between commit and dispatch: the rows are claimed, then the process is
   * gone (nothing sent, nothing acknowledged). Recovery is the sweeper's once the claim runs out.
   */
  private async crashesAfterCommit(delivery: Delivery, outgoing: Outgoing[]): Promise<boolean> {
    const { plan, truth } = this.deps;
    if (outgoing.length === 0 || delivery.attempt !== 1) return false;
    if (!decide(plan, this.faults.crashAfterCommit, 'commit-crash', this.name, delivery.messageId)) return false;
    await this.claim('incoming_id = $4', [delivery.messageId]);
    truth.record({
      kind: 'duplicate-delivery',
      messageId: delivery.messageId,
      service: this.name,
      messageType: delivery.messageType,
      detail: 'crashed between commit and dispatch; redelivered',
    });
    if (this.deps.exitOnCrash) process.kill(process.pid, 'SIGKILL');
    await delivery.abandon();
    return true;
  }

  private async alreadyProcessed(messageId: string): Promise<boolean> {
    const { rows } = await this.deps.db.query('SELECT 1 FROM inbox WHERE endpoint = $1 AND message_id = $2', [this.name, messageId]);
    return rows.length > 0;
  }

  private async process(
    tx: Sql,
    delivery: Delivery,
    handler: HandleFn,
    prepared: unknown,
    run: { published: Set<string>; dryRun?: boolean; onAbort?: (() => Promise<void>)[] },
  ): Promise<AttemptResult> {
    const { plan } = this.deps;
    // A dry run records nothing and injects no bug: it only finds out what would be sent.
    const truth = run.dryRun ? { record: () => undefined } : this.deps.truth;
    const faults = run.dryRun ? { ...this.faults, ghost: 0, lost: 0, inconsistentRetry: 0 } : this.faults;
    const { name } = this;
    const inserted = await tx.query(
      'INSERT INTO inbox (endpoint, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING message_id',
      [name, delivery.messageId],
    );
    if (inserted.rows.length === 0) {
      if (!faults.dedupDisabled) return { outcome: 'duplicate', reason: 'inbox: already processed' };
      truth.record({
        kind: 'duplicate-processing',
        messageId: delivery.messageId,
        service: name,
        messageType: delivery.messageType,
        detail: 'deduplication disabled (bug mode)',
      });
    }
    const outgoing: Outgoing[] = [];
    const afterCommit: (() => Promise<void>)[] = [];
    const add = (o: Omit<Outgoing, 'messageId' | 'headers'>, options: OutgoingOptions = {}) => {
      // BUG mode: a new id per attempt, so a second processing produces messages no inbox recognises.
      const messageId = faults.randomOutgoingIds
        ? randomUUID()
        : deterministicMessageId(delivery.messageId, name, options.logicalName ?? o.messageType);
      const headers = identityHeaders(outgoingIdentity({ messageType: o.messageType, messageId }));
      outgoing.push({ ...o, messageId, headers, payload: options.payload });
      return messageId;
    };
    await handler(
      {
        tx,
        delivery,
        endpoint: name,
        faults,
        body: JSON.parse(delivery.body) as never,
        send: (queue, messageType, body, options) =>
          add({ kind: 'send', destination: queue, messageType, body: JSON.stringify(body) }, options),
        publish: (messageType, body, options) =>
          add({ kind: 'publish', destination: messageType, messageType, body: JSON.stringify(body) }, options),
        afterCommit: (work) => void afterCommit.push(work),
        onAbort: (work) => void run.onAbort?.push(work),
      },
      prepared as never,
    );
    if (outgoing.length > 0 && decide(plan, faults.inconsistentRetry, 'inconsistent', name, delivery.messageId)) {
      // BUG: the bodies carry the time they were made, so each attempt's differ; the first
      // attempt publishes before failing, and its retry sends other bodies under the same ids.
      const quotedAtMs = Date.now();
      for (const o of outgoing) o.body = JSON.stringify({ ...(JSON.parse(o.body) as object), quotedAtMs });
      if (delivery.attempt === 1) {
        const base = { messageId: delivery.messageId, service: name, messageType: delivery.messageType };
        truth.record({ ...base, kind: 'retry', detail: 'failed after publishing (inconsistent retry bug)' });
        for (const o of outgoing) {
          truth.record({
            kind: 'inconsistent-output',
            messageId: o.messageId,
            service: name,
            messageType: o.messageType,
            detail: 'sent again with another body by the retry',
          });
          // Each receiver gets it twice: from this attempt, and from the retry.
          for (const service of receiversOfOutgoing(o))
            truth.record({
              kind: 'duplicate-delivery',
              messageId: o.messageId,
              service,
              messageType: o.messageType,
              detail: 'sent by a failed attempt and again by its retry',
            });
        }
        throw new PublishedThenFailed(outgoing);
      }
    }
    if (outgoing.length > 0 && decide(plan, faults.ghost, 'ghost', name, delivery.messageId)) {
      // BUG (part 1): the commit fails, so the state rolls back; `handle` then publishes anyway.
      throw new GhostCommitFailure(outgoing);
    }
    if (outgoing.length > 0 && decide(plan, faults.lost, 'lost', name, delivery.messageId)) {
      // BUG: the state commits but the outgoing messages are neither stored nor sent.
      for (const o of outgoing) {
        truth.record({ kind: 'lost-message', messageId: o.messageId, service: name, messageType: o.messageType });
      }
      return { outcome: 'processed', outgoing, lostOnPurpose: true, afterCommit };
    }
    for (const o of outgoing) {
      await tx.query(
        `INSERT INTO outbox (endpoint, message_id, incoming_id, kind, destination, message_type, headers, body, dispatched_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9 THEN clock_timestamp() END) ON CONFLICT DO NOTHING`,
        [
          name,
          o.messageId,
          delivery.messageId,
          o.kind,
          o.destination,
          o.messageType,
          JSON.stringify({ ...o.headers, ...(o.payload ? { 'x-payload': JSON.stringify(o.payload) } : {}) }),
          o.body,
          run.published.has(o.messageId),
        ],
      );
    }
    return { outcome: 'processed', outgoing, lostOnPurpose: false, afterCommit };
  }

  /**
   * BUG (part 2): the messages leave although the transaction that produced them did not
   * commit (as when a handler publishes straight to the broker before committing).
   */
  private async publishGhosts(delivery: Delivery, outgoing: Outgoing[]): Promise<void> {
    const { truth } = this.deps;
    for (const o of outgoing) {
      truth.record({ kind: 'ghost-message', messageId: o.messageId, service: this.name, messageType: o.messageType });
      await this.transmit(o);
    }
    truth.record({
      kind: 'dead-letter',
      messageId: delivery.messageId,
      service: this.name,
      messageType: delivery.messageType,
      detail: 'commit failed after publishing (ghost bug)',
    });
  }

  private async acknowledge(delivery: Delivery, processed: boolean): Promise<void> {
    if (!processed) return delivery.ack();
    const { plan, truth } = this.deps;
    const { name, faults } = this;
    const base = { messageId: delivery.messageId, service: name, messageType: delivery.messageType };
    if (this.stormRemaining === 0 && decide(plan, faults.redeliveryStorm, 'storm', name, delivery.messageId)) {
      this.stormRemaining = faults.stormSize;
    }
    if (this.stormRemaining > 0) {
      this.stormRemaining -= 1;
      truth.record({ ...base, kind: 'duplicate-delivery', detail: 'redelivery storm: consumer restarted with unacked messages' });
      await delivery.abandon();
      return;
    }
    if (decide(plan, faults.crashBeforeAck, 'crash', name, `${delivery.messageId}#${delivery.attempt}`)) {
      truth.record({ ...base, kind: 'duplicate-delivery', detail: 'consumer crashed after processing, before ack' });
      await delivery.abandon();
      return;
    }
    await delivery.ack();
    this.redeliverLate(delivery);
  }

  /** The injected late redelivery: the same message once more, after the ack (and maybe after the dedup window). */
  private redeliverLate(delivery: Delivery): void {
    const { plan, truth, transport } = this.deps;
    const { faults } = this;
    if (!transport.redeliver || delivery.attempt !== 1 || delivery.headers[LATE_COPY_HEADER]) return;
    if (!decide(plan, faults.lateRedelivery, 'late', this.name, delivery.messageId)) return;
    const headers = { ...delivery.headers, [LATE_COPY_HEADER]: '1' };
    const envelope: Envelope = { messageId: delivery.messageId, messageType: delivery.messageType, headers, body: delivery.body };
    truth.record({
      kind: 'duplicate-delivery',
      messageId: delivery.messageId,
      service: this.name,
      messageType: delivery.messageType,
      detail: `redelivered ${faults.lateRedeliveryMs} ms after its ack`,
    });
    setTimeout(() => void transport.redeliver!(this.name, envelope).catch(() => undefined), faults.lateRedeliveryMs).unref();
  }

  /** Sends what the attempt (or HTTP request) `incomingId` stored in the outbox, after its commit. */
  async dispatchPending(incomingId: string): Promise<void> {
    await this.dispatchRows(await this.claim('incoming_id = $4', [incomingId]));
  }

  /** Dispatches rows left undispatched for longer than `staleAfterMs` (the sweeper's work), and forgets processed ids older than the dedup window. */
  async sweep(): Promise<void> {
    const windowMs = this.faults.dedupWindowMs;
    if (windowMs > 0) {
      await this.deps.db.query(
        'DELETE FROM inbox WHERE endpoint = $1 AND processed_at < clock_timestamp() - make_interval(secs => $2::double precision / 1000)',
        [this.name, windowMs],
      );
    }
    await this.dispatchRows(
      await this.claim('created_at < clock_timestamp() - make_interval(secs => $4::double precision / 1000)', [this.outbox.staleAfterMs]),
    );
  }

  /**
   * Claims undispatched rows for `claimMs` before sending them, so that two dispatchers (the
   * attempt and the sweeper, or two processes of the endpoint) never send the same row; a
   * claim held by a dispatcher that crashed runs out and the row is sent again.
   */
  private async claim(filter: string, params: unknown[]): Promise<ClaimedRow[]> {
    const token = randomUUID();
    const { rows } = await this.deps.db.query<OutboxRow & { created_at: Date | string }>(
      `UPDATE outbox SET claim_token = $2, claimed_until = clock_timestamp() + make_interval(secs => $3::double precision / 1000)
        WHERE endpoint = $1 AND message_id IN (
          SELECT message_id FROM outbox
           WHERE endpoint = $1 AND dispatched_at IS NULL AND ${filter}
             AND (claimed_until IS NULL OR claimed_until < clock_timestamp())
           ORDER BY created_at, message_id LIMIT 100
           FOR UPDATE SKIP LOCKED)
       RETURNING message_id, kind, destination, message_type, headers, body, created_at`,
      [this.name, token, this.outbox.claimMs, ...params],
    );
    const time = (row: { created_at: Date | string }) => new Date(row.created_at).getTime();
    rows.sort((a, b) => time(a) - time(b) || a.message_id.localeCompare(b.message_id));
    return rows.map((row) => ({ ...row, token }));
  }

  private async dispatchRows(rows: ClaimedRow[]): Promise<void> {
    for (const [i, row] of rows.entries()) {
      try {
        await this.dispatchRow(row);
      } catch (error) {
        // What was not sent is released at once, so the sweeper need not wait for the claim.
        for (const unsent of rows.slice(i)) {
          await this.deps.db.query(
            'UPDATE outbox SET claim_token = NULL, claimed_until = NULL WHERE endpoint = $1 AND message_id = $2 AND claim_token = $3',
            [this.name, unsent.message_id, unsent.token],
          );
        }
        throw error;
      }
    }
  }

  private async dispatchRow(row: ClaimedRow): Promise<void> {
    const { plan, truth } = this.deps;
    const stored = typeof row.headers === 'string' ? (JSON.parse(row.headers) as Record<string, string>) : row.headers;
    const { 'x-payload': payload, ...headers } = stored;
    const outgoing: Outgoing = {
      kind: row.kind as Outgoing['kind'],
      destination: row.destination,
      messageId: row.message_id,
      messageType: row.message_type,
      headers,
      body: row.body,
      payload: payload ? (JSON.parse(payload) as Envelope['payload']) : undefined,
    };
    await this.transmit(outgoing, true);
    if (decide(plan, this.faults.duplicatePublish, 'duplicate-publish', this.name, row.message_id)) {
      // The sender did not see the broker's acknowledgement and sends again.
      for (const service of receiversOfOutgoing(outgoing)) {
        truth.record({
          kind: 'duplicate-delivery',
          messageId: row.message_id,
          service,
          messageType: row.message_type,
          detail: `sender ${this.name} published twice`,
        });
      }
      await this.transmit(outgoing, true);
    }
    await this.deps.db.query(
      'UPDATE outbox SET dispatched_at = clock_timestamp() WHERE endpoint = $1 AND message_id = $2 AND claim_token = $3',
      [this.name, row.message_id, row.token],
    );
  }

  /** Sends one message; an outbox dispatch after the commit is marked as such (`onceflow.outbox.dispatch`). */
  private transmit(o: Outgoing, outboxDispatch = false): Promise<void> {
    const envelope: Envelope = { messageId: o.messageId, messageType: o.messageType, headers: o.headers, body: o.body, payload: o.payload };
    const send = () => (o.kind === 'send' ? this.deps.transport.send(o.destination, envelope) : this.deps.transport.publish(envelope));
    return outboxDispatch ? withOutboxDispatch(send) : send();
  }
}

interface ClaimedRow extends OutboxRow {
  /** The claim this dispatcher holds on the row. */
  token: string;
}

interface OutboxRow {
  message_id: string;
  kind: string;
  destination: string;
  message_type: string;
  headers: Record<string, string> | string;
  body: string;
}
