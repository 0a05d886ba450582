/**
 * What the flow analysis expects of deliveries, learned from the store's aggregates over a
 * trailing window and refreshed periodically: the usual subscribers of each message type from
 * each producer (who consumes what from where: the edge aggregates; how often, per type: the
 * activity and trend aggregates), and each type's delivery latency p99 (queue latency p99 +
 * processing p99, from the trend aggregates by message type), which sets its quiet period. A
 * failed refresh keeps the previous expectations.
 */
import { consumedKey, learnSubscriptions, type ModelOptions, type TypeCounts } from '../analysis/index.js';
import type { Logger } from '../logger.js';
import type { ActivityBucketRow, SpanBucketRow, SpanStore } from '../store/span-store.js';

export type DeliveryExpectations = Pick<ModelOptions, 'subscriptions' | 'deliveryLatencyP99Ms'>;

export interface ExpectationSettings {
  /** How often the expectations are learned again; 60 s by default. */
  refreshMs: number;
  /** The trailing window they are learned over; 1 h by default. */
  windowMs: number;
}

export const DEFAULT_EXPECTATION_SETTINGS: ExpectationSettings = { refreshMs: 60_000, windowMs: 3_600_000 };

export interface ExpectationSource {
  /** The latest expectations (empty until the first refresh succeeded). */
  current(): DeliveryExpectations;
  /** Learns them again when the last refresh is older than `refreshMs`. */
  refreshIfDue(nowMs: number): Promise<void>;
}

/** Delivery latency p99 per message type: the worst bucket's queue p99 plus processing p99. */
function learnLatencies(rows: readonly SpanBucketRow[]): Map<string, number> {
  const latencies = new Map<string, number>();
  for (const row of rows) {
    if (!row.group || (row.queueLatencyP99Ms === null && row.processingP99Ms === null)) continue;
    const p99 = (row.queueLatencyP99Ms ?? 0) + (row.processingP99Ms ?? 0);
    latencies.set(row.group, Math.max(latencies.get(row.group) ?? 0, p99));
  }
  return latencies;
}

/** First deliveries per (consumer, destination, type) and sends per type, over the window. */
function learnTypeCounts(activity: readonly ActivityBucketRow[], byType: readonly SpanBucketRow[]): TypeCounts {
  const consumed = new Map<string, number>();
  for (const row of activity) {
    const key = consumedKey(row.service, row.destination, row.messageType);
    const first = Math.max(0, row.attempts - row.duplicateDeliveries - row.retries);
    consumed.set(key, (consumed.get(key) ?? 0) + first);
  }
  const sent = new Map<string, number>();
  for (const row of byType) if (row.group) sent.set(row.group, (sent.get(row.group) ?? 0) + row.sent);
  return { consumed, sent };
}

export function createExpectationSource(store: SpanStore, logger: Logger, settings: ExpectationSettings): ExpectationSource {
  let expectations: DeliveryExpectations = {};
  let refreshedAtMs = -Infinity;
  return {
    current: () => expectations,
    async refreshIfDue(nowMs) {
      if (nowMs - refreshedAtMs < settings.refreshMs) return;
      refreshedAtMs = nowMs;
      const window = { fromMs: nowMs - settings.windowMs, toMs: nowMs + 1 };
      try {
        // Whole minutes, so both stores answer from their rollups rather than scanning an hour of spans.
        const stepMs = Math.ceil((window.toMs - window.fromMs) / 60_000) * 60_000;
        const [edges, byType, activity] = await Promise.all([
          store.edgeAggregates(window),
          store.spanBuckets(window, stepMs, 'messageType'),
          store.activityBuckets(window, stepMs),
        ]);
        expectations = {
          subscriptions: learnSubscriptions(edges, learnTypeCounts(activity, byType)),
          deliveryLatencyP99Ms: learnLatencies(byType),
        };
      } catch (error) {
        logger.error({ err: error }, 'learning delivery expectations failed; keeping the previous ones');
      }
    },
  };
}
