export type * from './model/span.js';
export * from './contract/index.js';
export type { FlowRecord } from './model/flow.js';
export type * from './store/span-store.js';

export { createApp, startCollector, VERSION } from './app.js';
export type { AppOptions, RunningCollector, StartOptions } from './app.js';
export { DEFAULT_CONFIG, parseCommandLine, UsageError } from './config.js';
export type { ServeConfig } from './config.js';
export { createLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { createFlowIndexer } from './indexer/flow-indexer.js';
export type { FlowIndexer, FlowIndexerOptions, IndexerStats } from './indexer/flow-indexer.js';
export { createLiveHub } from './live/live-hub.js';
export type { LiveEventName, LiveHub } from './live/live-hub.js';
