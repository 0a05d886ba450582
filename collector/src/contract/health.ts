/** `GET /api/health`: is the collector up, which store, which version, how many spans, how far the store lags the ingest log. */
import { z } from 'zod/mini';

/** The flow indexer's counters. */
export const IndexerStatsSchema = z.object({
  /** Conversations waiting for analysis or for their quiet period to pass. */
  tracked: z.number(),
  analysed: z.number(),
  failures: z.number(),
  dropped: z.number(),
});
export type IndexerStats = z.infer<typeof IndexerStatsSchema>;

/** The ingest log: acknowledged spans the store does not hold yet (docs/api.md). */
export const IngestStatusSchema = z.object({
  /** Bytes of the log the store has not confirmed. */
  lagBytes: z.number(),
  lagSpans: z.number(),
  /** Age of the oldest acknowledged span not yet stored (ms; 0 when none waits). */
  oldestUnstoredAgeMs: z.number(),
  spoolMaxBytes: z.number(),
  /** The store's last error while it refuses spans; null when it takes them. */
  storeError: z.nullable(z.string()),
  /** The store is falling behind: spans wait longer than 10 s, or it refuses them. */
  behind: z.boolean(),
});
export type IngestStatus = z.infer<typeof IngestStatusSchema>;

/** 200 with `ok`; 503 with `degraded` when the store fails. */
export const HealthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  /** `duckdb` or `clickhouse`. */
  store: z.string(),
  storeDetail: z.string(),
  version: z.string(),
  /** Spans stored; null when the store could not count them. */
  spans: z.nullable(z.number()),
  /** null when the collector runs without a flow indexer. */
  indexer: z.nullable(IndexerStatsSchema),
  /** null when the collector runs without an ingest log (an app built without a receiver). */
  ingest: z.nullable(IngestStatusSchema),
  liveClients: z.number(),
});
export type Health = z.infer<typeof HealthSchema>;
