/**
 * The shared store conformance suite against the real ClickHouse server (18.16 in CI). Every
 * store gets a database of its own (`onceflow_test_<random>`), dropped afterwards.
 */
import { CLICKHOUSE_URL, requireClickHouse } from '@onceflow/test-support';
import { describe } from 'vitest';
import { runSpanStoreConformance } from '../../../test/store/conformance.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { testDatabaseName } from '../../../test/store/test-database.js';

const ok = await requireClickHouse();

describe.skipIf(!ok)('ClickHouse', () => {
  runSpanStoreConformance('ClickHouse', async () => new ClickHouseStore({ url: CLICKHOUSE_URL, database: testDatabaseName() }), {
    dispose: async (store) => {
      await store.dropDatabase();
      await store.close();
    },
  });
});
