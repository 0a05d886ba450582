/**
 * Fault injection: what can go wrong at each service, configured per service and bundled
 * into named scenarios. Decisions are a seeded hash of (fault, service, message id), so a
 * message chosen for a transient failure fails on the same attempts every time it comes back,
 * and a run with the same seed injects the same faults.
 */
import { createHash } from 'node:crypto';
import type { Topology } from '../services/extra-endpoints.js';
import { RESOURCE_DEDUP_WINDOW_MS } from '@onceflow/instrumentation/semconv';

export interface FaultConfig {
  /** Probability that a dispatched message is sent twice (sender retry after a lost ack). */
  duplicatePublish: number;
  /** Probability that a processed message is not acknowledged (consumer crash): it is redelivered. */
  crashBeforeAck: number;
  /** Probability that a message fails its first `transientFailureAttempts` attempts, then succeeds. */
  transientFailure: number;
  transientFailureAttempts: number;
  /** Probability that a message fails every attempt (poison): it ends in the dead-letter queue. */
  poison: number;
  /**
   * Probability that a message fails every attempt after its handler's external call (the
   * `prepare` step, e.g. a charge): dead-lettered, with the side effect of attempts that never counted.
   */
  poisonAfterPrepare: number;
  /** Probability that a processed message starts a redelivery storm of `stormSize` unacknowledged messages. */
  redeliveryStorm: number;
  stormSize: number;
  /**
   * Probability that handling a message is slowed by `slowConsumerMs` (its first attempt). The
   * handler renews its lease meanwhile, as long-running consumers do, so a slowness longer than
   * the queue's visibility timeout is not a redelivery.
   */
  slowConsumer: number;
  slowConsumerMs: number;
  /**
   * Probability that a message's first attempt fails (a lock held elsewhere) and asks for its
   * retry only `deferredRetryMs` later: messages sent after it can be processed first.
   */
  deferredRetry: number;
  deferredRetryMs: number;
  /** Probability that an invoice document is large (offloaded to the blob store). */
  largePayload: number;
  /** Probability that an offloading attempt fails after storing its blob (its first attempt): the blob must be deleted. */
  abortAfterOffload: number;
  /** Probability that an offloaded blob is deleted right after its commit: the reader gets a 404. */
  missingBlob: number;
  /** BUG: probability that an offloading attempt does not delete its blob when it aborts: the blob is orphaned. */
  abortLeavesBlob: number;
  /** Probability that an HTTP call's response is lost, so the client retries (with the same key, unless `httpWithoutKey`). */
  httpResponseLost: number;
  /** BUG: billing charges with a plain `POST /charges` and no idempotency key: a retried request is executed again. */
  httpWithoutKey: boolean;
  /**
   * Probability that the process dies between a commit and its dispatch, holding the claim on
   * its outbox rows: the redelivery finds the message processed, and the sweeper sends the rows
   * once the claim has run out.
   */
  crashAfterCommit: number;
  /** Probability that an entity endpoint's process dies at one step of handling a message (its first attempt). */
  entityCrash: number;
  /** How long the endpoint keeps processed ids (its dedup window); 0: for ever. Declared as `onceflow.dedup_window_ms`. */
  dedupWindowMs: number;
  /** Probability that the broker delivers a processed message once more, `lateRedeliveryMs` later. */
  lateRedelivery: number;
  lateRedeliveryMs: number;
  /** BUG: the inbox check is skipped, so a redelivered message is processed again. */
  dedupDisabled: boolean;
  /** BUG: probability that outgoing messages are published before the commit, and the commit then fails. */
  ghost: number;
  /** BUG: probability that state is committed but the outgoing messages are never stored or sent. */
  lost: number;
  /** BUG: probability that outgoing messages are published before the commit, which then succeeds. */
  prematurePublish: number;
  /** BUG: probability that an attempt publishes time-stamped bodies, then fails; its retry sends other bodies under the same ids. */
  inconsistentRetry: number;
  /**
   * BUG: outgoing message ids are random per attempt instead of derived from the incoming id, so
   * a message processed twice produces its messages twice under new ids (logical duplicates)
   * that no receiver's inbox can recognise.
   */
  randomOutgoingIds: boolean;
}

export const NO_FAULTS: FaultConfig = {
  duplicatePublish: 0,
  crashBeforeAck: 0,
  transientFailure: 0,
  transientFailureAttempts: 2,
  poison: 0,
  poisonAfterPrepare: 0,
  redeliveryStorm: 0,
  stormSize: 10,
  slowConsumer: 0,
  slowConsumerMs: 300,
  deferredRetry: 0,
  deferredRetryMs: 2_000,
  largePayload: 0,
  abortAfterOffload: 0,
  missingBlob: 0,
  abortLeavesBlob: 0,
  httpResponseLost: 0,
  httpWithoutKey: false,
  entityCrash: 0,
  crashAfterCommit: 0,
  dedupWindowMs: 0,
  lateRedelivery: 0,
  lateRedeliveryMs: 5_000,
  dedupDisabled: false,
  ghost: 0,
  lost: 0,
  prematurePublish: 0,
  inconsistentRetry: 0,
  randomOutgoingIds: false,
};

export type ServiceFaults = Partial<Record<string, Partial<FaultConfig>>>;

export interface FaultLayer {
  /** Applied to every service, then overridden per service. */
  all?: Partial<FaultConfig>;
  services?: ServiceFaults;
}

/**
 * Short abnormal periods on top of the plan: every `everyMs` of wall-clock time (aligned to
 * the epoch), for `durationMs`, the next layer of `layers` (in turn) applies as well.
 */
export interface FaultBursts {
  everyMs: number;
  durationMs: number;
  layers: FaultLayer[];
}

export interface FaultPlan extends FaultLayer {
  seed: string;
  /** Optional parts of the system a scenario switches on. */
  topology?: Topology;
  bursts?: FaultBursts;
  /** Share of spans the telemetry pipeline loses at export (0..1). */
  dropSpans?: number;
}

/** The layer of the burst under way at `nowMs`, if one is. */
export function burstAt(bursts: FaultBursts | undefined, nowMs: number): FaultLayer | undefined {
  if (!bursts || bursts.layers.length === 0 || nowMs % bursts.everyMs >= bursts.durationMs) return undefined;
  return bursts.layers[Math.floor(nowMs / bursts.everyMs) % bursts.layers.length];
}

/** The faults of `service` at `nowMs` (bursts apply only when a time is given). */
export function faultsFor(plan: FaultPlan, service: string, nowMs?: number): FaultConfig {
  const burst = nowMs === undefined ? undefined : burstAt(plan.bursts, nowMs);
  return { ...NO_FAULTS, ...plan.all, ...plan.services?.[service], ...burst?.all, ...burst?.services?.[service] };
}

/** A uniform number in [0, 1) from the seed and the given parts. */
export function draw(seed: string, ...parts: string[]): number {
  const digest = createHash('sha256')
    .update([seed, ...parts].join('\u0000'))
    .digest();
  return digest.readUInt32BE(0) / 0x1_0000_0000;
}

export function decide(plan: FaultPlan, probability: number, fault: string, service: string, messageId: string): boolean {
  return probability > 0 && draw(plan.seed, fault, service, messageId) < probability;
}

/** Every non-bug fault at once: the system must still process every order exactly once. */
export const ALL_RECOVERABLE_FAULTS: Partial<FaultConfig> = {
  duplicatePublish: 0.1,
  crashBeforeAck: 0.1,
  transientFailure: 0.1,
  poison: 0,
  slowConsumer: 0.05,
  largePayload: 0.3,
  httpResponseLost: 0.2,
  entityCrash: 0.3,
};

const light = (rate: number): Partial<FaultConfig> => ({
  duplicatePublish: rate,
  crashBeforeAck: rate,
  transientFailure: rate,
  largePayload: 0.2,
});

/** Named scenarios: `--scenario NAME`. */
export const SCENARIOS: Record<string, { description: string; plan: Omit<FaultPlan, 'seed'> }> = {
  healthy: { description: 'no faults; invoices occasionally large', plan: { all: { largePayload: 0.1 } } },
  demo: {
    description:
      'the default: mostly healthy (a few percent of flows with a handled duplicate or a retry), and every 5 minutes one abnormal minute (a duplicate storm at marketing, then a failure burst at shipping, in turn)',
    plan: {
      all: { duplicatePublish: 0.01, crashBeforeAck: 0.01, transientFailure: 0.01, httpResponseLost: 0.01, largePayload: 0.1 },
      bursts: {
        everyMs: 5 * 60_000,
        durationMs: 60_000,
        layers: [
          { services: { marketing: { crashBeforeAck: 0.6, duplicatePublish: 0.3 } } },
          { services: { shipping: { transientFailure: 0.6, poison: 0.05 } } },
        ],
      },
    },
  },
  trickle: {
    description: 'a steady trickle with occasional faults of every kind (the former default)',
    plan: {
      all: { ...light(0.03), slowConsumer: 0.02, httpResponseLost: 0.05 },
      services: { shipping: { poison: 0.02 }, marketing: { redeliveryStorm: 0.005 } },
    },
  },
  duplicates: {
    description: 'sender retries and consumer crashes: duplicate deliveries, all skipped by the inbox',
    plan: { all: { duplicatePublish: 0.15, crashBeforeAck: 0.15 } },
  },
  retries: { description: 'transient failures, then success', plan: { all: { transientFailure: 0.25 } } },
  poison: { description: 'messages that always fail end in the dead-letter queue', plan: { all: { poison: 0.08 } } },
  'duplicate-storm': {
    description: 'a consumer restarts with many unacknowledged messages',
    plan: { services: { shipping: { redeliveryStorm: 0.05, stormSize: 15 }, marketing: { redeliveryStorm: 0.05, stormSize: 15 } } },
  },
  'slow-consumer': { description: 'handlers slowed down', plan: { all: { slowConsumer: 0.3, slowConsumerMs: 500 } } },
  'slow-beyond-quiet': {
    description:
      "marketing takes 40 s over 1 % of its messages, longer than the collector's quiet period (30 s by default), and the messages queued behind them wait: nothing is lost, so nothing may be judged lost",
    plan: { services: { marketing: { slowConsumer: 0.01, slowConsumerMs: 40_000 } } },
  },
  'out-of-order': {
    description:
      "orders keys its order-status events by order (setBusinessKey) and defers some first attempts by 1.5 s: an OrderShipped sent later is applied before the order's OrderBilled",
    plan: { topology: { orderKeys: true }, services: { orders: { deferredRetry: 0.3, deferredRetryMs: 1_500 } } },
  },
  'large-payloads': { description: 'most invoices go to the blob store (claim check)', plan: { all: { largePayload: 0.8 } } },
  'commit-then-crash': {
    description: 'processes die between commit and dispatch; the outbox sweeper sends what they committed',
    plan: { all: { crashAfterCommit: 0.1 } },
  },
  'dropped-spans': {
    description:
      '5% of spans lost at export, with duplicates and a deduplication bug: missing evidence must read as unknown, never as lost or ghost',
    plan: {
      all: { duplicatePublish: 0.1, crashBeforeAck: 0.1 },
      services: { marketing: { dedupDisabled: true } },
      dropSpans: 0.05,
    },
  },
  'uninstrumented-consumer': {
    description: 'shipping sends PrintLabel to a label printer that runs without tracing: sent, consumed out of sight, not lost',
    plan: { topology: { uninstrumentedConsumer: true }, all: { duplicatePublish: 0.05 } },
  },
  'two-queues': {
    description:
      'marketing consumes OrderBilled from two queues (two endpoints of one service): each processes it once, no duplicate processing',
    plan: { topology: { secondQueue: true }, all: { duplicatePublish: 0.1, crashBeforeAck: 0.1 } },
  },
  'dedup-window': {
    description:
      'marketing keeps processed ids for 1.5 s only, and some messages come back 4 s later: processed again (a dedup-window breach)',
    plan: { services: { marketing: { dedupWindowMs: 1_500, lateRedelivery: 0.1, lateRedeliveryMs: 4_000 } } },
  },
  'kv-crashes': {
    description: 'the key-value service (loyalty) dies at a random step of its algorithm; redeliveries recover',
    plan: { services: { loyalty: { entityCrash: 0.3 } } },
  },
  'claim-check': {
    description:
      'large invoices: some attempts fail after storing their blob and are retried (half delete it, half leave it behind: orphaned), some blobs vanish before shipping reads them (404, dead letter), some invoices commit without dispatch (BUG: stuck outbox, their blob orphaned)',
    plan: {
      all: { largePayload: 0.8 },
      services: { invoicing: { abortAfterOffload: 0.2, abortLeavesBlob: 0.5, missingBlob: 0.05, lost: 0.05 } },
    },
  },
  'http-retries': { description: 'lost payment responses, retried with the same key', plan: { all: { httpResponseLost: 0.3 } } },
  'http-retries-without-key': {
    description: 'BUG: billing charges with a plain POST and no idempotency key; a lost response is retried and the customer charged twice',
    plan: { all: { httpResponseLost: 0.3 }, services: { billing: { httpWithoutKey: true } } },
  },
  ghost: { description: 'BUG: orders publishes before commit, then the commit fails', plan: { services: { orders: { ghost: 0.15 } } } },
  lost: { description: 'BUG: billing commits without dispatching', plan: { services: { billing: { lost: 0.15 } } } },
  'premature-publish': {
    description: 'BUG: orders publishes before its commit, which then succeeds (receivers may act before the order exists)',
    plan: { services: { orders: { prematurePublish: 0.15 } } },
  },
  'inconsistent-retry': {
    description: 'BUG: orders publishes time-stamped messages, fails, and its retry sends other bodies under the same ids',
    plan: { services: { orders: { inconsistentRetry: 0.15 } } },
  },
  'uncommitted-side-effect': {
    description:
      'billing charges the customer, then can never record it: the message is dead-lettered, the charge stays (a side effect of attempts that never counted)',
    plan: { services: { billing: { poisonAfterPrepare: 0.1 } } },
  },
  'logical-duplicates': {
    description:
      'BUG: orders relies on idempotent state instead of its inbox and mints random outgoing ids: a redelivered SubmitOrder is billed again under new ids (logical duplicates)',
    plan: { services: { orders: { randomOutgoingIds: true, dedupDisabled: true, crashBeforeAck: 0.2 } } },
  },
  'double-processing': {
    description: 'BUG: marketing skips deduplication while messages are redelivered',
    plan: {
      all: { duplicatePublish: 0.1, crashBeforeAck: 0.1 },
      services: { marketing: { dedupDisabled: true } },
    },
  },
  chaos: {
    description: 'every fault, including the bugs',
    plan: {
      all: { ...light(0.08), poison: 0.03, slowConsumer: 0.03, httpResponseLost: 0.1 },
      services: {
        orders: { ghost: 0.03 },
        billing: { lost: 0.03 },
        marketing: { dedupDisabled: true },
        shipping: { redeliveryStorm: 0.01 },
      },
    },
  },
};

/** Resource attributes a service declares under this plan: its dedup window, when finite. */
export function declaredResource(plan: FaultPlan, service: string): Record<string, number> {
  const windowMs = faultsFor(plan, service).dedupWindowMs;
  return windowMs > 0 ? { [RESOURCE_DEDUP_WINDOW_MS]: windowMs } : {};
}

export function scenarioPlan(name: string, seed = name): FaultPlan {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario "${name}"; known: ${Object.keys(SCENARIOS).join(', ')}`);
  return { seed, ...scenario.plan };
}
