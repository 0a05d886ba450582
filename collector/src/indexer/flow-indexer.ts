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
import { analyzeConversation } from '../analysis/index.js';
import { DEFAULT_CONFIG } from '../config.js';
import type { Logger } from '../logger.js';
import type { Anomaly, FlowRecord } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import type { SpanStore } from '../store/span-store.js';
import { producerConversations } from './deliveries-elsewhere.js';
import { completeFlowSpans } from './flow-spans.js';

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
  /** Called with every batch of saved records and the anomalies not reported before. */
  onFlows?: (records: FlowRecord[], newAnomalies: Anomaly[]) => void;
}

export interface IndexerStats {
  /** Conversations waiting for analysis or for their quiet period to pass. */
  tracked: number;
  analysed: number;
  failures: number;
  dropped: number;
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
const CONCURRENCY = 4;
const MAX_FAILURES = 5;
const RETRY_AFTER_FAILURE_MS = 5000;
/** Re-analyse a little after the quiet period so spans that raced the deadline are included. */
const QUIET_MARGIN_MS = 1000;

interface Tracked {
  /** When to analyse next; null while being analysed (or with nothing scheduled). */
  dueMs: number | null;
  failures: number;
  /** Anomalies already reported for this conversation (kind|message|service). */
  reported: Set<string>;
}

const anomalyKey = (a: Anomaly) => `${a.kind}|${a.messageId}|${a.service}`;

export function createFlowIndexer(options: FlowIndexerOptions): FlowIndexer {
  const config = { ...DEFAULTS, ...withoutUndefined(options) };
  const { store, logger } = options;
  const clock = options.clock ?? Date.now;
  const tracked = new Map<string, Tracked>();
  const stats: IndexerStats = { tracked: 0, analysed: 0, failures: 0, dropped: 0 };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let stopped = false;

  const schedule = (conversationId: string, dueMs: number) => {
    const entry = tracked.get(conversationId);
    if (entry) {
      entry.dueMs = Math.min(entry.dueMs ?? Infinity, dueMs);
      return;
    }
    if (tracked.size >= config.maxTracked) {
      stats.dropped += 1;
      if (stats.dropped === 1 || stats.dropped % 10_000 === 0) {
        logger.warn({ dropped: stats.dropped, maxTracked: config.maxTracked }, 'flow indexer is full; conversations skipped');
      }
      return;
    }
    tracked.set(conversationId, { dueMs, failures: 0, reported: new Set() });
  };

  const analyse = async (conversationId: string, nowMs: number): Promise<FlowRecord | null> => {
    const spans = await store.spansOfConversation(conversationId, config.maxSpansPerConversation + 1);
    if (spans.length === 0) return null;
    if (spans.length > config.maxSpansPerConversation) {
      logger.warn({ conversationId, limit: config.maxSpansPerConversation }, 'conversation has more spans than the indexer reads; analysing the first ones');
      spans.length = config.maxSpansPerConversation;
    }
    const options = { now: nowMs, quietPeriodMs: config.quietPeriodMs };
    // A flow this one delivered for may have been judged before these deliveries arrived.
    for (const owner of await producerConversations(store, conversationId, spans)) schedule(owner, nowMs + config.debounceMs);
    return analyzeConversation(await completeFlowSpans(store, conversationId, spans, options), options);
  };

  const analyseBatch = async (ids: string[]): Promise<number> => {
    const nowMs = clock();
    const records: FlowRecord[] = [];
    const newAnomalies: Anomaly[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const conversationId = ids[next++];
        const entry = tracked.get(conversationId);
        if (!entry) continue;
        try {
          const record = await analyse(conversationId, nowMs);
          stats.analysed += 1;
          if (!record) {
            tracked.delete(conversationId);
            continue;
          }
          records.push(record);
          for (const anomaly of record.anomalies) {
            const key = anomalyKey(anomaly);
            if (entry.reported.has(key)) continue;
            entry.reported.add(key);
            newAnomalies.push(anomaly);
          }
          entry.failures = 0;
          // A touch while we read set dueMs again: that analysis still happens.
          if (record.state === 'active') {
            const quietAtMs = Math.max(record.endMs + config.quietPeriodMs + QUIET_MARGIN_MS, nowMs + config.debounceMs);
            entry.dueMs = Math.min(entry.dueMs ?? Infinity, quietAtMs);
          } else if (entry.dueMs === null) {
            tracked.delete(conversationId);
          }
        } catch (error) {
          stats.failures += 1;
          entry.failures += 1;
          logger.error({ err: error, conversationId, failures: entry.failures }, 'flow analysis failed');
          if (entry.failures >= MAX_FAILURES) tracked.delete(conversationId);
          else entry.dueMs = Math.min(entry.dueMs ?? Infinity, nowMs + RETRY_AFTER_FAILURE_MS);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
    if (records.length > 0) {
      try {
        await store.saveFlows(records);
      } catch (error) {
        stats.failures += 1;
        logger.error({ err: error, count: records.length }, 'saving flow records failed; will retry');
        for (const record of records) schedule(record.conversationId, nowMs + RETRY_AFTER_FAILURE_MS);
        return 0;
      }
      try {
        options.onFlows?.(records, newAnomalies);
      } catch (error) {
        logger.error({ err: error }, 'flow listener failed');
      }
    }
    return records.length;
  };

  /** Takes up to `max` conversations due at `nowMs` (every scheduled one when `nowMs` is +Infinity), earliest first. */
  const takeDue = (nowMs: number, max: number): string[] => {
    const due: [string, number][] = [];
    for (const [id, entry] of tracked) if (entry.dueMs !== null && entry.dueMs <= nowMs) due.push([id, entry.dueMs]);
    due.sort((a, b) => a[1] - b[1]);
    const ids = due.slice(0, max).map(([id]) => id);
    // Mark as taken: a touch during the analysis sets dueMs again and is honoured.
    for (const id of ids) tracked.get(id)!.dueMs = null;
    return ids;
  };

  const runExclusive = (work: () => Promise<number>): Promise<number> => {
    const previous = running ?? Promise.resolve(0);
    const current = previous.catch(() => 0).then(work);
    running = current;
    void current.finally(() => {
      if (running === current) running = null;
    });
    return current;
  };

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
        schedule(span.conversationId, dueMs);
      }
    },
    touch(conversationId) {
      schedule(conversationId, clock() + config.debounceMs);
    },
    runOnce() {
      return runExclusive(() => analyseBatch(takeDue(clock(), config.maxConversationsPerTick)));
    },
    drain() {
      return runExclusive(async () => {
        // One pass: conversations still active afterwards stay scheduled for their quiet period.
        const ids = takeDue(Infinity, Infinity);
        let total = 0;
        for (let i = 0; i < ids.length; i += config.maxConversationsPerTick) {
          total += await analyseBatch(ids.slice(i, i + config.maxConversationsPerTick));
        }
        return total;
      });
    },
    async catchUp() {
      const nowMs = clock();
      let count = 0;
      try {
        const recent = await store.activeConversations({ fromMs: nowMs - config.catchUpWindowMs, toMs: nowMs + 1 }, config.maxTracked);
        for (const { conversationId } of recent) schedule(conversationId, nowMs);
        count += recent.length;
        const open = await store.listFlows({ fromMs: nowMs - 86_400_000, toMs: nowMs + 1, state: 'active', limit: 1000 });
        for (const flow of open.flows) schedule(flow.conversationId, nowMs);
        count += open.flows.length;
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
      await running?.catch(() => 0);
    },
    stats: () => ({ ...stats, tracked: tracked.size }),
  };
  return indexer;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

