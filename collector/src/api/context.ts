/** What every route module of the REST API receives from `createApp`. */
import type { FlowIndexer } from '../indexer/flow-indexer.js';
import type { LiveHub } from '../live/live-hub.js';
import type { Logger } from '../logger.js';
import type { SpanStore } from '../store/span-store.js';

export interface ApiContext {
  store: SpanStore;
  logger: Logger;
  /** Epoch ms. */
  clock: () => number;
  quietPeriodMs: number;
  version: string;
  live: LiveHub;
  indexer?: FlowIndexer;
  ingest?: () => IngestStatus;
}

/** The ingest log as `/api/health` reports it (see docs/api.md). */
export interface IngestStatus {
  /** Bytes in the ingest log the store has not confirmed. */
  lagBytes: number;
  lagSpans: number;
  /** Age of the oldest acknowledged span not yet in the store (ms; 0 when none waits). */
  oldestUnstoredAgeMs: number;
  spoolMaxBytes: number;
  /** The store's last error while it refuses spans; null when it takes them. */
  storeError: string | null;
  /** The store is falling behind: spans wait longer than 10 s, or it refuses them. */
  behind: boolean;
}
