/**
 * Test support for API tests that run on every store: the stores to run on (ClickHouse when the
 * server is reachable; required in CI) and an app over a store loaded with spans and indexed once.
 */
import { CLICKHOUSE_URL, requireClickHouse } from '@onceflow/test-support';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../src/app.js';
import { createFlowIndexer } from '../src/indexer/flow-indexer.js';
import { silentLogger } from '../src/logger.js';
import type { SpanRow } from '../src/model/span.js';
import { ClickHouseStore } from '../src/store/clickhouse/clickhouse-store.js';
import { testDatabaseName } from './store/test-database.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { SpanStore } from '../src/store/span-store.js';

export interface StoreUnderTest {
  name: string;
  enabled: boolean;
  open: () => SpanStore;
}

export async function storesUnderTest(): Promise<StoreUnderTest[]> {
  const clickhouse = await requireClickHouse();
  return [
    { name: 'DuckDB', enabled: true, open: () => new DuckDbStore({ path: ':memory:' }) },
    { name: 'ClickHouse', enabled: clickhouse, open: () => new ClickHouseStore({ url: CLICKHOUSE_URL, database: testDatabaseName() }) },
  ];
}

export interface IndexedApp {
  store: SpanStore;
  app: FastifyInstance;
  /** Closes the app and the store (dropping a ClickHouse test database first). */
  close: () => Promise<void>;
}

/** Initialises the store, inserts the spans, indexes their flows once and builds the app. */
export async function indexedApp(
  store: SpanStore,
  spans: SpanRow[],
  options: { now: number; quietPeriodMs: number; appIndexer?: boolean },
): Promise<IndexedApp> {
  await store.init();
  await store.insertSpans(spans);
  const clock = () => options.now;
  const indexer = createFlowIndexer({ store, logger: silentLogger(), clock, quietPeriodMs: options.quietPeriodMs });
  indexer.noteSpans(spans);
  await indexer.drain();
  const app = await createApp({
    store,
    logger: silentLogger(),
    clock,
    indexer: options.appIndexer ? indexer : undefined,
    quietPeriodMs: options.quietPeriodMs,
  });
  return {
    store,
    app,
    close: async () => {
      await app.close();
      if (store instanceof ClickHouseStore) await store.dropDatabase();
      await store.close();
    },
  };
}
