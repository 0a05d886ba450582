export { createOtlpReceiver, OTLP_TRACES_PATH } from './receiver.js';
export type { OtlpReceiver, OtlpReceiverOptions, ReceiverStats } from './receiver.js';
export { DEFAULT_FEEDING_OPTIONS, LogFeeder } from './log-feeder.js';
export type { FeederStats, FeedingOptions } from './log-feeder.js';
export { IngestLog, LogWriteError, openIngestLog, SpoolFullError } from './log/ingest-log.js';
export type { IngestLogOptions, LogLag } from './log/ingest-log.js';
