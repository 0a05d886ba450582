/**
 * The flow indexer's memory: which conversations are due for (re-)analysis and when, how often
 * each failed, and what was already reported for it. Bounded by `maxTracked`.
 */
import type { Logger } from '../logger.js';

export interface Tracked {
  /** When to analyse next; null while being analysed (or with nothing scheduled). */
  dueMs: number | null;
  failures: number;
  /** Anomalies already reported for this conversation (kind|message|service). */
  reported: Set<string>;
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

export function createConversationSchedule(maxTracked: number, logger: Logger, stats: IndexerStats): ConversationSchedule {
  const tracked = new Map<string, Tracked>();
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
      tracked.set(conversationId, { dueMs, failures: 0, reported: new Set() });
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
      tracked.delete(conversationId);
    },
    get size() {
      return tracked.size;
    },
  };
}
