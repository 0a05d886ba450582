export { createOtlpReceiver, OTLP_TRACES_PATH } from './receiver.js';
export type { OtlpReceiver, OtlpReceiverOptions, ReceiverStats } from './receiver.js';
export { BatcherClosedError, DEFAULT_BATCHER_OPTIONS, QueueFullError, WriteBatcher } from './write-batcher.js';
export type { BatcherStats, BatchingOptions, WriteBatcherOptions } from './write-batcher.js';
