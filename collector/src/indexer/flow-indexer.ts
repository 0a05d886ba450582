/**
 * The flow indexer: turns stored spans into flow records (summary + anomalies) that the flows
 * list, the anomalies list and the trends read.
 *
 * The receiver reports each stored batch (`noteSpans`); the conversations it touches are
 * analysed a short debounce later, and conversations still `active` are analysed again once
 * their quiet period has passed, so lost messages get judged and the state moves to
 * `complete` / `incomplete`. On start-up it catches up on recent conversations and on records
 * left `active` by a previous run.
 *
 * Bounded: at most `maxConversationsPerTick` analyses per tick, `maxSpansPerConversation` spans
 * read per conversation and `maxTracked` conversations remembered. A failure is logged and
 * retried a few times, never thrown out of a timer.
 */
import { DEFAULT_CONFIG } from '../config.js';
import type { Logger } from '../logger.js';
import type { SpanRow } from '../model/span.js';
import type { ModelOptions } from '../analysis/index.js';
import type { SpanStore } from '../store/span-store.js';
import { analyseBatch, type BatchContext, type FlowListener } from './analyse-batch.js';
import { createConversationSchedule, type IndexerStats } from './conversation-schedule.js';
import { createExportLossSource, exportEvidenceOf } from './export-loss-source.js';
import { createLostDeliveryWatch } from './lost-deliveries.js';
import { createExpectationSource, DEFAULT_EXPECTATION_SETTINGS, type DeliveryExpectations } from './delivery-expectations.js';

export type { IndexerStats } from './conversation-schedule.js';
export type { FlowListener } from './analyse-batch.js';
export type { DeliveryExpectations } from './delivery-expectations.js';

export interface FlowIndexerOptions {
  store: SpanStore;
  logger: Logger;
  /** Epoch ms; injected by tests. */
  clock?: () => number;
  /** A conversation with no spans for this long is judged; 30 s by default. */
  quietPeriodMs?: number;
  /** Wait after the first new span of a conversation before analysing it; 1 s by default. */
  debounceMs?: number;
  /** How often due work is looked for; 500 ms by default. */
  tickMs?: number;
  maxConversationsPerTick?: number;
  maxSpansPerConversation?: number;
  /** Conversations waiting for (re-)analysis that are remembered; more are dropped with a warning. */
  maxTracked?: number;
  /** How far back start-up catch-up looks for conversations with spans; 1 h by default. */
  catchUpWindowMs?: number;
  /** How long after its commit an outgoing message may stay undispatched before `stuck-outbox`; 30 s by default. */
  stuckOutboxAfterMs?: number;
  /** How often subscribers and delivery latencies are learned again from the store; 60 s by default. */
  expectationRefreshMs?: number;
  /** The trailing window they are learned over; 1 h by default. */
  expectationWindowMs?: number;
  /** Called with every batch of saved records, the anomalies not reported before, and the ones withdrawn. */
  onFlows?: FlowListener;
}

export interface FlowIndexer {
  /** Learns the conversations a stored batch touched (the receiver's `onSpansStored`). */
  noteSpans(spans: readonly SpanRow[]): void;
  /** Schedules one conversation for analysis after the debounce. */
  touch(conversationId: string): void;
  /** Catches up, then analyses due conversations every tick until `stop()`. */
  start(): Promise<void>;
  /** Analyses the conversations due now (at most one tick's worth); returns how many. */
  runOnce(): Promise<number>;
  /** Analyses every scheduled conversation once, due or not (tests, benchmarks, shutdown). */
  drain(): Promise<number>;
  /** Catch-up step of `start()` on its own. */
  catchUp(): Promise<number>;
  stop(): Promise<void>;
  stats(): IndexerStats;
  /** The delivery expectations analyses use now (learned subscribers, latency per type). */
  expectations(): DeliveryExpectations;
  /** The export evidence (spans lost at export until `untilMs`, numbered services) analyses of these spans use now. */
  exportEvidence(
    spans: readonly SpanRow[],
    nowMs: number,
    untilMs?: number,
  ): Promise<Pick<ModelOptions, 'exportLosses' | 'entryLosses' | 'exportedUntil'>>;
}

const DEFAULTS = {
  quietPeriodMs: DEFAULT_CONFIG.quietPeriodMs,
  debounceMs: 1000,
  tickMs: 500,
  maxConversationsPerTick: 200,
  maxSpansPerConversation: 20_000,
  maxTracked: 100_000,
  catchUpWindowMs: 3_600_000,
};
const DAY_MS = 86_400_000;
const MAX_OPEN_FLOWS_CAUGHT_UP = 1000;

/** Runs one piece of work at a time, in call order (a tick, a drain and a test never overlap). */
function serialRunner() {
  let running: Promise<number> | null = null;
  return {
    run(work: () => Promise<number>): Promise<number> {
      const previous = running ?? Promise.resolve(0);
      const current = previous.catch(() => 0).then(work);
      running = current;
      void current.finally(() => {
        if (running === current) running = null;
      });
      return current;
    },
    async idle(): Promise<void> {
      await running?.catch(() => 0);
    },
  };
}

/** Conversations with recent spans, and records a previous run left `active`. */
async function scheduleCatchUp(
  store: SpanStore,
  schedule: (id: string, dueMs: number) => void,
  nowMs: number,
  windowMs: number,
  maxTracked: number,
) {
  const recent = await store.activeConversations({ fromMs: nowMs - windowMs, toMs: nowMs + 1 }, maxTracked);
  for (const { conversationId } of recent) schedule(conversationId, nowMs);
  const open = await store.listFlows({ fromMs: nowMs - DAY_MS, toMs: nowMs + 1, state: 'active', limit: MAX_OPEN_FLOWS_CAUGHT_UP });
  for (const flow of open.flows) schedule(flow.conversationId, nowMs);
  return recent.length + open.flows.length;
}

export function createFlowIndexer(options: FlowIndexerOptions): FlowIndexer {
  const config = { ...DEFAULTS, ...withoutUndefined(options) };
  const { store, logger } = options;
  const clock = options.clock ?? Date.now;
  const stats: IndexerStats = { tracked: 0, analysed: 0, failures: 0, dropped: 0 };
  const schedule = createConversationSchedule(config.maxTracked, logger, stats);
  const expectations = createExpectationSource(store, logger, {
    refreshMs: options.expectationRefreshMs ?? DEFAULT_EXPECTATION_SETTINGS.refreshMs,
    windowMs: options.expectationWindowMs ?? DEFAULT_EXPECTATION_SETTINGS.windowMs,
  });
  const exportLosses = createExportLossSource(store);
  const batch: BatchContext = {
    store,
    logger,
    settings: config,
    schedule,
    stats,
    expectations: expectations.current,
    exportLosses,
    lostDeliveries: createLostDeliveryWatch(store),
    onFlows: options.onFlows,
  };
  const runner = serialRunner();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const tick = async () => {
    timer = null;
    if (stopped) return;
    let analysed = 0;
    try {
      analysed = await indexer.runOnce();
    } catch (error) {
      logger.error({ err: error }, 'flow indexer tick failed');
    }
    if (!stopped) {
      // A full tick means a backlog: go on at once (reads yield to the event loop anyway).
      timer = setTimeout(tick, analysed >= config.maxConversationsPerTick ? 0 : config.tickMs);
      timer.unref();
    }
  };

  const indexer: FlowIndexer = {
    noteSpans(spans) {
      const dueMs = clock() + config.debounceMs;
      let last = '';
      for (const span of spans) {
        if (!span.conversationId || span.conversationId === last) continue;
        last = span.conversationId;
        schedule.schedule(span.conversationId, dueMs);
      }
    },
    touch(conversationId) {
      schedule.schedule(conversationId, clock() + config.debounceMs);
    },
    runOnce() {
      return runner.run(async () => {
        const nowMs = clock();
        const ids = schedule.takeDue(nowMs, config.maxConversationsPerTick);
        if (ids.length > 0) await expectations.refreshIfDue(nowMs);
        return analyseBatch(batch, ids, nowMs);
      });
    },
    drain() {
      return runner.run(async () => {
        // One pass: conversations still active afterwards stay scheduled for their quiet period.
        const ids = schedule.takeDue(Infinity, Infinity);
        if (ids.length > 0) await expectations.refreshIfDue(clock());
        let total = 0;
        for (let i = 0; i < ids.length; i += config.maxConversationsPerTick) {
          total += await analyseBatch(batch, ids.slice(i, i + config.maxConversationsPerTick), clock());
        }
        return total;
      });
    },
    async catchUp() {
      let count = 0;
      try {
        count = await scheduleCatchUp(store, schedule.schedule, clock(), config.catchUpWindowMs, config.maxTracked);
      } catch (error) {
        logger.error({ err: error }, 'flow indexer catch-up failed; continuing with new spans only');
      }
      if (count > 0) logger.info({ conversations: count }, 'flow indexer catching up');
      return count;
    },
    async start() {
      stopped = false;
      await indexer.catchUp();
      if (!timer) {
        timer = setTimeout(tick, 0);
        timer.unref();
      }
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await runner.idle();
    },
    stats: () => ({ ...stats, tracked: schedule.size }),
    expectations: expectations.current,
    exportEvidence: (spans, nowMs, untilMs) =>
      spans.length > 0 ? exportEvidenceOf(exportLosses, spans, nowMs, untilMs) : Promise.resolve({}),
  };
  return indexer;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
