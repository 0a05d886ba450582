/** `GET /api/health`: is the collector up, which store, which version, how many spans. */
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
  liveClients: z.number(),
});
export type Health = z.infer<typeof HealthSchema>;
