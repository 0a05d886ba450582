/**
 * Publishes the system map to live clients: every `intervalMs`, when spans arrived since the
 * last refresh and someone is listening, the topology of the trailing window is recomputed
 * (one aggregate query) and sent as a `topology` event.
 */
import { buildTopology } from '../analysis/index.js';
import type { Logger } from '../logger.js';
import type { SpanStore } from '../store/span-store.js';
import type { LiveHub } from './live-hub.js';

export interface TopologyFeedOptions {
  store: Pick<SpanStore, 'edgeAggregates'>;
  live: Pick<LiveHub, 'publish' | 'clientCount'>;
  logger: Logger;
  clock?: () => number;
  /** 5 s by default. */
  intervalMs?: number;
  /** Trailing window the map covers; 15 min by default. */
  windowMs?: number;
}

export interface TopologyFeed {
  /** Marks that spans arrived (the receiver's `onSpansStored`). */
  noteSpans(): void;
  /** Publishes now if anything changed and a client listens; resolves whether it published. */
  refresh(): Promise<boolean>;
  start(): void;
  stop(): void;
}

export function createTopologyFeed(options: TopologyFeedOptions): TopologyFeed {
  const clock = options.clock ?? Date.now;
  const intervalMs = options.intervalMs ?? 5000;
  const windowMs = options.windowMs ?? 15 * 60_000;
  let dirty = false;
  let busy = false;
  let timer: NodeJS.Timeout | null = null;

  const feed: TopologyFeed = {
    noteSpans() {
      dirty = true;
    },
    async refresh() {
      if (!dirty || busy || options.live.clientCount() === 0) return false;
      busy = true;
      dirty = false;
      try {
        const toMs = clock();
        const window = { fromMs: toMs - windowMs, toMs };
        options.live.publish('topology', buildTopology(await options.store.edgeAggregates(window), window));
        return true;
      } catch (error) {
        dirty = true;
        options.logger.error({ err: error }, 'live topology refresh failed');
        return false;
      } finally {
        busy = false;
      }
    },
    start() {
      if (timer) return;
      timer = setInterval(() => void feed.refresh(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
  return feed;
}
