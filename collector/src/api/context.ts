/** What every route module of the REST API receives from `createApp`. */
import type { IngestStatus } from '../contract/health.js';
import type { FlowIndexer } from '../indexer/flow-indexer.js';
import type { LiveHub } from '../live/live-hub.js';
import type { Logger } from '../logger.js';
import type { SpanStore } from '../store/span-store.js';
import type { StormSettings } from './storm-report.js';

export interface ApiContext {
  store: SpanStore;
  logger: Logger;
  /** Epoch ms. */
  clock: () => number;
  quietPeriodMs: number;
  version: string;
  live: LiveHub;
  indexer?: FlowIndexer;
  /** Overrides of the storm detection defaults (learning time, thresholds). */
  stormOptions?: StormSettings;
  /** The ingest log's lag, reported by `/api/health`. */
  ingest?: () => IngestStatus;
}
