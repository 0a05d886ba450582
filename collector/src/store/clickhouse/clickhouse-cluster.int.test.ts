/**
 * The ClickHouse store in cluster mode (`--clickhouse-cluster`) on a two-shard cluster of two
 * private clickhouse-server processes sharing one ZooKeeper (`private-clickhouse-cluster.ts`):
 * the store conformance suite through node 1, and the sharding itself read from each node's
 * `_local` tables — rows on both shards, every conversation's spans, lookup rows and flow
 * record on one.
 *
 * Needs the clickhouse-server binary and ZooKeeper (CI installs Debian's zookeeperd and starts
 * it on 2181; ONCEFLOW_TEST_ZOOKEEPER=host:port points elsewhere).
 */
import { createClient } from '@clickhouse/client';
import { CLICKHOUSE_URL, requireClickHouse, requireServer } from '@onceflow/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFlows } from '../../../bench/generate-flows.js';
import { probeClickHouseBinary } from '../../../test/ingest/private-clickhouse.js';
import { createPrivateCluster, probeZooKeeper, type PrivateCluster } from '../../../test/ingest/private-clickhouse-cluster.js';
import { ALL_FLOWS } from '../../../test/fixtures/store-fixtures.js';
import {
  closeCollectors,
  newCollectorPool,
  outcome,
  post,
  startClickHouseCollector,
  storedAndAnalysed,
} from '../../../test/scale-out/collectors.js';
import { runSpanStoreConformance } from '../../../test/store/conformance.js';
import { testDatabaseName } from '../../../test/store/test-database.js';
import type { EdgeAggregateRow } from '../span-store.js';
import { ClickHouseStore } from './clickhouse-store.js';

const available =
  (await requireServer('clickhouse-server binary', probeClickHouseBinary)) && (await requireServer('ZooKeeper', probeZooKeeper));
let cluster: PrivateCluster | null = null;
// The baseline of the collectors test: one collector on the shared server.
const sharedServer = available && (await requireClickHouse());

beforeAll(async () => {
  if (available) cluster = await createPrivateCluster(2);
}, 90_000);
const pool = newCollectorPool();
const singleDatabase = testDatabaseName();
afterAll(async () => {
  await closeCollectors(pool);
  await cluster?.dispose();
  if (sharedServer) {
    const single = new ClickHouseStore({ url: CLICKHOUSE_URL, database: singleDatabase });
    await single.dropDatabase();
    await single.close();
  }
});

const clusterStore = (database = testDatabaseName()) =>
  new ClickHouseStore({ url: cluster!.nodes[0].url, database, cluster: cluster!.name });

/** An aggregate row without its quantiles (`…P50Ms` etc.: t-digest from the rollup, exact from spans). */
const withoutQuantiles = (row: object) => Object.fromEntries(Object.entries(row).filter(([key]) => !/P\d+Ms$/.test(key)));

const dispose = async (store: ClickHouseStore) => {
  await store.dropDatabase();
  await store.close();
};

describe.skipIf(!available)('ClickHouse cluster (two shards)', () => {
  runSpanStoreConformance('ClickHouse cluster', async () => clusterStore(), { dispose });

  it('spreads conversations over both shards and keeps each one whole on one', { timeout: 60_000 }, async () => {
    const store = clusterStore();
    await store.init();
    try {
      const toMs = Math.floor(Date.now() / 60_000) * 60_000;
      const [batch] = [...generateFlows({ totalSpans: 600, fromMs: toMs - 3_600_000, toMs, seed: 7, batchSpans: 600 })];
      await store.insertSpans(batch.spans);
      await store.saveFlows(ALL_FLOWS);
      // A newer analysis of every record: the latest must win although versions are written twice.
      await store.saveFlows(ALL_FLOWS.map((flow) => ({ ...flow, analyzedAtMs: flow.analyzedAtMs + 1 })));

      // Per node: conversation id → rows, read from the shard's own tables.
      const perShard = async (table: string, where = "conversation_id != ''") =>
        Promise.all(
          cluster!.nodes.map(async (node) => {
            const client = createClient({ url: node.url });
            try {
              const result = await client.query({
                query: `SELECT conversation_id AS c, count() AS n FROM ${store.database}.${table} WHERE ${where} GROUP BY c`,
                format: 'JSONEachRow',
              });
              const rows = await result.json<{ c: string; n: string }>();
              return new Map(rows.map((row) => [row.c, Number(row.n)]));
            } finally {
              await client.close();
            }
          }),
        );
      const conversations = new Set(batch.spans.filter((s) => s.conversationId !== '').map((s) => s.conversationId));
      for (const table of ['spans_local', 'spans_by_conversation_local', 'search_index_local']) {
        const [one, two] = await perShard(table);
        expect(one.size, `${table} on shard 1`).toBeGreaterThan(0);
        expect(two.size, `${table} on shard 2`).toBeGreaterThan(0);
        expect(
          [...one.keys()].filter((c) => two.has(c)),
          `${table}: conversations on both shards`,
        ).toEqual([]);
        expect(new Set([...one.keys(), ...two.keys()])).toEqual(conversations);
      }
      // Each conversation's spans in full, on the shard its lookup rows are on.
      const [spansOne] = await perShard('spans_local');
      const [lookupOne] = await perShard('spans_by_conversation_local');
      expect([...spansOne.keys()].sort()).toEqual([...lookupOne.keys()].sort());
      expect(await store.spanCount()).toBe(batch.spans.length);

      const [flowsOne, flowsTwo] = await perShard('flows_local', '1');
      expect(flowsOne.size).toBeGreaterThan(0);
      expect(flowsTwo.size).toBeGreaterThan(0);
      // Both versions of a record on one shard: FINAL and the latest-version reads see them together.
      for (const flows of [flowsOne, flowsTwo]) for (const n of flows.values()) expect(n).toBe(2);
      expect(flowsOne.size + flowsTwo.size).toBe(ALL_FLOWS.length);
      const page = await store.listFlows({ fromMs: 0, toMs: Date.now() + 3_600_000, limit: 1000 });
      expect(page.total).toBe(ALL_FLOWS.length);
      const record = await store.getFlowRecord(ALL_FLOWS[0].conversationId);
      expect(record?.analyzedAtMs).toBe(ALL_FLOWS[0].analyzedAtMs + 1);

      // The rollup's aggregate states are per shard; merged through the Distributed table they
      // count what the spans count (quantiles aside: t-digest vs exact).
      const rollup = new ClickHouseStore({
        url: cluster!.nodes[1].url,
        database: store.database,
        cluster: cluster!.name,
        rollupAfterMs: 0,
      });
      try {
        const window = { fromMs: toMs - 2 * 3_600_000, toMs };
        const fromSpans = (await store.spanBuckets(window, 60_000, 'service')).map(withoutQuantiles);
        expect(fromSpans.reduce((sum, row) => sum + (row.group === '' ? row.processed : 0), 0)).toBeGreaterThan(0);
        expect((await rollup.spanBuckets(window, 60_000, 'service')).map(withoutQuantiles)).toEqual(fromSpans);
        const edges = (rows: EdgeAggregateRow[]) => rows.map(withoutQuantiles);
        const spanEdges = edges(await store.edgeAggregates(window));
        expect(spanEdges.length).toBeGreaterThan(0);
        expect(edges(await rollup.edgeAggregates(window))).toEqual(spanEdges);
      } finally {
        await rollup.close();
      }
    } finally {
      await dispose(store);
    }
  });

  it('refuses a database of the other layout', { timeout: 60_000 }, async () => {
    const store = clusterStore();
    await store.init();
    const single = new ClickHouseStore({ url: cluster!.nodes[0].url, database: store.database });
    try {
      await expect(single.init()).rejects.toThrow(/created for a cluster/);
    } finally {
      await single.close();
      await dispose(store);
    }
  });

  it.skipIf(!sharedServer)(
    'two collectors on the two nodes end with the records and anomalies of one collector on one server',
    { timeout: 120_000 },
    async () => {
      const nowMs = Date.now();
      const window = { fromMs: nowMs - 2 * 3_600_000, toMs: nowMs };
      // Old enough that every flow is past its quiet period: records are final, whenever analysed.
      const [{ conversations }] = [
        ...generateFlows({ totalSpans: 500, fromMs: nowMs - 3_600_000, toMs: nowMs - 600_000, seed: 5, batchSpans: 500 }),
      ];
      const database = testDatabaseName();
      const [a, b] = await Promise.all(
        cluster!.nodes.map((node) => startClickHouseCollector(pool, { url: node.url, database, cluster: cluster!.name })),
      );
      // Every conversation split between the nodes' collectors; B analyses last, on all its spans.
      for (const c of conversations)
        await post(
          a,
          c.spans.filter((_, i) => i % 2 === 0),
        );
      await storedAndAnalysed(a);
      for (const c of conversations)
        await post(
          b,
          c.spans.filter((_, i) => i % 2 === 1),
        );
      await storedAndAnalysed(b);
      await storedAndAnalysed(a);
      const pair = await outcome(b, window);

      const single = await startClickHouseCollector(pool, { url: CLICKHOUSE_URL, database: singleDatabase });
      for (const c of conversations) await post(single, c.spans);
      await storedAndAnalysed(single);
      const one = await outcome(single, window);

      expect(one.total).toBe(conversations.length);
      expect(Object.keys(one.anomalyCounts).length).toBeGreaterThanOrEqual(3);
      expect(pair).toEqual(one);
      expect(await outcome(a, window)).toEqual(pair);
    },
  );
});
