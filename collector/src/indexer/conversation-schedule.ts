/**
 * The flow indexer's memory: which conversations are due for (re-)analysis and when, how often
 * each failed, and what was already reported for it. Bounded by `maxTracked`.
 */
import type { Logger } from '../logger.js';
import type { Anomaly } from '../model/flow.js';

export interface Tracked {
  /** When to analyse next; null while being analysed (or with nothing scheduled). */
  dueMs: number | null;
  failures: number;
  /** Judged once already and due for its second look (see `analyse-batch.ts`). */
  rechecked: boolean;
  /** Anomalies already reported for this conversation, by `anomalyKey`. */
  reported: Map<string, Anomaly>;
}

export interface IndexerStats {
  /** Conversations waiting for analysis or for their quiet period to pass. */
  tracked: number;
  analysed: number;
  failures: number;
  dropped: number;
}

export interface ConversationSchedule {
  /** Schedules a conversation at `dueMs`, or earlier if it already is; drops it (counted) when full. */
  schedule(conversationId: string, dueMs: number): void;
  /** Takes up to `max` conversations due at `nowMs` (every scheduled one when `nowMs` is +Infinity), earliest first. */
  takeDue(nowMs: number, max: number): string[];
  get(conversationId: string): Tracked | undefined;
  forget(conversationId: string): void;
  readonly size: number;
}

/** What identifies a reported anomaly across analyses of its conversation. */
export const anomalyKey = (a: Anomaly) => `${a.kind}|${a.messageId}|${a.endpoint}`;

/**
 * Judged conversations whose reported anomalies are remembered after they stop being tracked,
 * so new spans arriving later can still withdraw a finding (oldest forgotten first).
 */
const MAX_REMEMBERED = 10_000;

export function createConversationSchedule(maxTracked: number, logger: Logger, stats: IndexerStats): ConversationSchedule {
  const tracked = new Map<string, Tracked>();
  const remembered = new Map<string, Map<string, Anomaly>>();
  return {
    schedule(conversationId, dueMs) {
      const entry = tracked.get(conversationId);
      if (entry) {
        entry.dueMs = Math.min(entry.dueMs ?? Infinity, dueMs);
        return;
      }
      if (tracked.size >= maxTracked) {
        stats.dropped += 1;
        if (stats.dropped === 1 || stats.dropped % 10_000 === 0) {
          logger.warn({ dropped: stats.dropped, maxTracked }, 'flow indexer is full; conversations skipped');
        }
        return;
      }
      const reported = remembered.get(conversationId) ?? new Map<string, Anomaly>();
      remembered.delete(conversationId);
      tracked.set(conversationId, { dueMs, failures: 0, rechecked: false, reported });
    },
    takeDue(nowMs, max) {
      const due: [string, number][] = [];
      for (const [id, entry] of tracked) if (entry.dueMs !== null && entry.dueMs <= nowMs) due.push([id, entry.dueMs]);
      due.sort((a, b) => a[1] - b[1]);
      const ids = due.slice(0, max).map(([id]) => id);
      // Mark as taken: a touch during the analysis sets dueMs again and is honoured.
      for (const id of ids) tracked.get(id)!.dueMs = null;
      return ids;
    },
    get: (conversationId) => tracked.get(conversationId),
    forget(conversationId) {
      const entry = tracked.get(conversationId);
      tracked.delete(conversationId);
      if (!entry || entry.reported.size === 0) return;
      remembered.set(conversationId, entry.reported);
      if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
    },
    get size() {
      return tracked.size;
    },
  };
}
