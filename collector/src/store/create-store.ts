/**
 * Picks the store from configuration: ClickHouse when a URL is given, otherwise the embedded
 * DuckDB file under the data directory. The ClickHouse module is imported only when used, so
 * the embedded default never loads the ClickHouse client.
 */
import type { Logger } from 'pino';
import { DuckDbStore } from './duckdb/duckdb-store.js';
import type { SpanStore } from './span-store.js';

export type StoreConfig = { dataDir: string; memoryLimitBytes?: number } | { clickhouseUrl: string; database?: string; cluster?: string };

/** Creates the configured store and runs its `init()` (schema creation). */
export async function createSpanStore(config: StoreConfig, logger?: Logger): Promise<SpanStore> {
  let store: SpanStore;
  if ('clickhouseUrl' in config) {
    const { ClickHouseStore } = await import('./clickhouse/clickhouse-store.js');
    store = new ClickHouseStore({ url: config.clickhouseUrl, database: config.database, cluster: config.cluster, logger });
  } else {
    store = new DuckDbStore({ dataDir: config.dataDir, memoryLimitBytes: config.memoryLimitBytes, logger });
  }
  await store.init();
  return store;
}
