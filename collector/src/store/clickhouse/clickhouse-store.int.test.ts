/**
 * The ClickHouse store against the real server (18.16 in CI): schema creation, insert/read
 * round trip at full precision, idempotent inserts, search, retention. Each run uses its own
 * database, dropped afterwards.
 */
import { CLICKHOUSE_URL, requireClickHouse } from '@onceflow/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSpan } from '../../../test/span-builders.js';
import { ATTR_COMMITTED_AT_MS, ATTR_OUTBOX_DISPATCH } from '@onceflow/instrumentation/semconv';
import type { Anomaly, FlowRecord } from '../../model/flow.js';
import type { SpanRow } from '../../model/span.js';
import { FLOW_1 } from '../../../test/fixtures/store-fixtures.js';
import { QueryRunner } from './clickhouse-client.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { testDatabaseName } from '../../../test/store/test-database.js';

const ok = await requireClickHouse();

describe.skipIf(!ok)('ClickHouseStore on a real server', () => {
  const database = testDatabaseName();
  let store: ClickHouseStore;

  beforeAll(async () => {
    store = new ClickHouseStore({ url: CLICKHOUSE_URL, database });
    await store.init();
  });

  afterAll(async () => {
    await store?.dropDatabase();
    await store?.close();
  });

  const t0 = Date.UTC(2026, 0, 15, 12, 0, 0);
  const ns = (ms: number) => BigInt(ms) * 1_000_000n;

  function richSpan(overrides: Partial<SpanRow> = {}): SpanRow {
    return makeSpan({
      service: 'billing',
      name: 'orders process',
      kind: 'consumer',
      statusCode: 'error',
      statusMessage: "boom: it's \\ broken\n",
      startNs: ns(t0) + 123_456_789n,
      durationNs: 4_500_000,
      messageId: 'm-1',
      conversationId: 'c-1',
      causationId: 'm-0',
      idempotencyKey: 'idem-1',
      messageType: 'OrderBilled',
      attempt: 2,
      outcome: 'failed',
      payloadBytes: 123_456,
      payloadOffloaded: true,
      payloadRef: 'blob://invoices/1',
      destination: 'billing',
      operation: 'process',
      messagingSystem: 'rabbitmq',
      outgoingMessageIds: ['m-2', 'm-3'],
      links: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), attributes: { why: 'retry' } }],
      events: [{ timeNs: ns(t0) + 200_000_001n, name: 'exception', attributes: { 'exception.message': 'x' } }],
      attributes: { 'onceflow.business_key': 'order-42', 'http.route': '/orders' },
      resourceAttributes: { 'service.name': 'billing', 'host.name': 'h1' },
      ...overrides,
    });
  }

  it('detects the server version', () => {
    expect(store.serverFeatures?.version).toMatch(/^\d+\.\d+/);
  });

  it('round-trips every field of a span at full precision', async () => {
    const span = richSpan();
    await store.insertSpans([span]);
    expect(await store.spansOfConversation('c-1', 10)).toEqual([span]);
    expect(await store.spansOfMessage('m-1', 10)).toEqual([span]);
    expect(await store.spansOfTrace(span.traceId, 10)).toEqual([span]);
  });

  it('stores a batch inserted twice once', async () => {
    const batch = [0, 1, 2].map((i) => richSpan({ conversationId: 'c-twice', messageId: `mt-${i}`, startNs: ns(t0 + i) }));
    await store.insertSpans(batch);
    await store.insertSpans(batch);
    await store.insertSpans([batch[0], batch[0]]);
    const read = await store.spansOfConversation('c-twice', 100);
    expect(read.map((span) => span.spanId)).toEqual(batch.map((span) => span.spanId));
    expect(await store.spansOfMessage('mt-0', 100)).toHaveLength(1);
    expect((await store.activeConversations({ fromMs: t0, toMs: t0 + 10 }, 10)).map((c) => c.conversationId)).toEqual(['c-twice']);
  });

  it('drops spans stored before a restart (a new store reads the newest stored second at init)', async () => {
    const batch = [0, 1].map((i) => richSpan({ conversationId: 'c-restart', messageId: `mr-${i}`, startNs: ns(t0 + 90_000 + i) }));
    await store.insertSpans(batch);
    const restarted = new ClickHouseStore({ url: CLICKHOUSE_URL, database });
    try {
      await restarted.init();
      await restarted.insertSpans(batch);
    } finally {
      await restarted.close();
    }
    const [total] = await store.spanBuckets({ fromMs: t0 + 90_000, toMs: t0 + 91_000 }, 60_000, 'service');
    expect(total).toMatchObject({ group: '', processed: 0, failures: 2 });
    expect(await store.spansOfConversation('c-restart', 10)).toHaveLength(2);
  });

  it('counts a duplicate processing across batches the same from spans and from the rollup', async () => {
    const base = { conversationId: 'c-dup', messageId: 'm-dup', outcome: 'processed' as const, links: [], events: [] };
    await store.insertSpans([richSpan({ ...base, startNs: ns(t0 + 180_000) })]);
    // A second store knows nothing in memory: the earlier processing comes from the lookup.
    const rollup = new ClickHouseStore({ url: CLICKHOUSE_URL, database, rollupAfterMs: 0 });
    try {
      await rollup.init();
      await rollup.insertSpans([richSpan({ ...base, startNs: ns(t0 + 180_500), attempt: 3 })]);
      const window = { fromMs: t0 + 180_000, toMs: t0 + 240_000 };
      for (const reader of [store, rollup]) {
        const [total] = await reader.spanBuckets(window, 60_000, 'service');
        expect(total).toMatchObject({ group: '', processed: 2, duplicateProcessings: 1 });
        const [edge] = await reader.edgeAggregates(window);
        expect(edge).toMatchObject({ kind: 'consume', count: 2, duplicateProcessings: 1 });
      }
      // A window that starts after the first processing does not count the second as a repeat.
      const later = { fromMs: t0 + 180_250, toMs: t0 + 240_250 };
      expect((await rollup.activityBuckets(later, 60_000)).map((row) => row.duplicateProcessings)).toEqual([0]);
      expect((await store.activityBuckets(later, 60_000)).map((row) => row.duplicateProcessings)).toEqual([0]);
    } finally {
      await rollup.close();
    }
  });

  it('finds conversations by ids and attribute values, most recent first', async () => {
    await store.insertSpans([
      richSpan({ conversationId: 'c-old', startNs: ns(t0 - 60_000), attributes: { 'order.id': 'order-7' } }),
      richSpan({ conversationId: 'c-new', startNs: ns(t0 + 60_000), attributes: { 'order.id': 'order-7' } }),
    ]);
    expect(await store.findConversations('order-7', 10)).toEqual(['c-new', 'c-old']);
    expect(await store.findConversations('idem-1', 10)).toContain('c-1');
    expect(await store.findConversations('nothing-like-this', 10)).toEqual([]);
  });

  it('finds the earliest send of an attempt stored in an earlier batch (queue latency)', async () => {
    const base = { conversationId: 'c-queue', messageId: 'm-queue', links: [], events: [] };
    await store.insertSpans([richSpan({ ...base, kind: 'producer', operation: 'send', outcome: '', attempt: 0, startNs: ns(t0 + 1000) })]);
    // A second store has an empty send cache: the earliest send comes from the lookup query.
    const other = new ClickHouseStore({ url: CLICKHOUSE_URL, database });
    try {
      await other.insertSpans([richSpan({ ...base, outcome: 'processed', startNs: ns(t0 + 1250) })]);
    } finally {
      await other.close();
    }
    const [total] = await store.spanBuckets({ fromMs: t0 + 1000, toMs: t0 + 2000 }, 60_000, 'service');
    expect(total).toMatchObject({ group: '', sent: 1, processed: 1, queueLatencyP50Ms: 250 });
  });

  it('keeps the last limit rows in start order', async () => {
    const spans = [5, 3, 1, 4, 2].map((i) => richSpan({ conversationId: 'c-order', startNs: ns(t0 + i) }));
    await store.insertSpans(spans);
    const read = await store.spansOfConversation('c-order', 3);
    expect(read.map((span) => span.startNs)).toEqual([1, 2, 3].map((i) => ns(t0 + i)));
  });

  it('adds the ledger columns to a flows table from before the ledger; its records read as not judged', async () => {
    const older = new ClickHouseStore({ url: CLICKHOUSE_URL, database: testDatabaseName() });
    const runner = new QueryRunner({ url: CLICKHOUSE_URL });
    try {
      await runner.command(`CREATE DATABASE ${older.database}`);
      await runner.command(`CREATE TABLE ${older.database}.flows (conversation_id String, start_ms Float64, end_ms Float64,
  duration_ms Float64, complete UInt8, state Enum8('active' = 1, 'complete' = 2, 'incomplete' = 3), services Array(String),
  message_types Array(String), root_type String, message_count UInt32, span_count UInt32, idempotency_keys Array(String),
  business_keys Array(String), anomaly_kinds Array(String), anomaly_kind_counts Array(UInt32), worst_severity String,
  anomalies Nested(kind String, severity String, message_id String, message_type String, service String, detail String, time_ms Float64),
  analyzed_at_ms Float64, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY conversation_id`);
      await runner.command(`INSERT INTO ${older.database}.flows (conversation_id, start_ms, end_ms, state, anomaly_kinds, anomaly_kind_counts,
  anomalies.kind, anomalies.severity, anomalies.message_id, anomalies.message_type, anomalies.service, anomalies.detail, anomalies.time_ms, version)
  VALUES ('c-old', ${t0}, ${t0 + 10}, 'incomplete', ['lost-message'], [1], ['lost-message'], ['error'], ['m1'], ['SubmitOrder'], ['edge'], ['lost'], [${t0}], 1)`);
      await older.init();
      const record = await older.getFlowRecord('c-old');
      expect(record?.verdict).toBe('unknown');
      expect(record?.ledger.noLost).toEqual({ verdict: 'unknown', evidence: [], reason: 'recorded before the ledger was kept' });
      expect(record?.anomalies.map((a) => [a.service, a.endpoint])).toEqual([['edge', 'edge']]);
      await older.saveFlows([
        {
          ...record!,
          verdict: 'violated',
          ledger: { ...record!.ledger, noLost: { verdict: 'violated', evidence: ['a1'], reason: 'lost' } },
          analyzedAtMs: t0 + 100,
        },
      ]);
      expect((await older.getFlowRecord('c-old'))?.ledger.noLost.verdict).toBe('violated');
      expect((await older.listFlows({ fromMs: t0 - 1, toMs: t0 + 1, verdict: 'violated', limit: 10 })).total).toBe(1);
    } finally {
      await older.dropDatabase();
      await older.close();
      await runner.close();
    }
  });

  it('fills the index tables of a database from before them once, with the answers they had before', async () => {
    const older = new ClickHouseStore({ url: CLICKHOUSE_URL, database: testDatabaseName() });
    const runner = new QueryRunner({ url: CLICKHOUSE_URL });
    const db = older.database;
    const retry: Anomaly = { ...FLOW_1.anomalies[0], kind: 'retry', severity: 'warning', detail: 'retried', timeMs: t0 + 10 };
    const lost: Anomaly = { ...FLOW_1.anomalies[0], kind: 'lost-message', severity: 'error', detail: 'lost', timeMs: t0 + 20 };
    const a: FlowRecord = {
      ...FLOW_1,
      conversationId: 'c-a',
      startMs: t0,
      anomalies: [retry, lost],
      anomalyCounts: { retry: 1, 'lost-message': 1 },
      analyzedAtMs: t0,
    };
    const b: FlowRecord = { ...a, conversationId: 'c-b', analyzedAtMs: t0 + 2000 };
    const window = { fromMs: t0 - 60_000, toMs: t0 + 60_000 };
    // An attempt that committed at t0 + 50 ms listing m-out, dispatched from the outbox at t0 + 150 ms.
    const committed = richSpan({
      conversationId: 'c-a',
      outcome: 'processed',
      startNs: ns(t0),
      outgoingMessageIds: ['m-out'],
      attributes: { [ATTR_COMMITTED_AT_MS]: String(t0 + 50) },
    });
    const dispatch = richSpan({
      conversationId: 'c-a',
      kind: 'producer',
      operation: 'send',
      outcome: '',
      messageId: 'm-out',
      spanId: 'd'.repeat(16),
      startNs: ns(t0 + 150),
      attributes: { [ATTR_OUTBOX_DISPATCH]: 'true' },
    });
    const answers = async () => ({
      byKind: (await older.listFlows({ ...window, limit: 10, anomaly: 'retry' })).flows.map((f) => f.conversationId),
      anomalies: await older.listAnomalies({ ...window, limit: 10 }),
      flowBuckets: await older.flowBuckets(window, 60_000),
      outbox: (await older.spanBuckets(window, 60_000, 'service')).map((row) => [row.group, row.outboxDispatchP50Ms]),
    });
    try {
      await older.init();
      await older.insertSpans([committed, dispatch]);
      await older.saveFlows([a, b]);
      // A's later version without the kinds supersedes its first.
      await older.saveFlows([{ ...a, anomalies: [], anomalyCounts: {}, analyzedAtMs: t0 + 1000 }]);
      const before = await answers();
      expect(before.byKind).toEqual(['c-b']);
      expect(before.anomalies.map((x) => [x.conversationId, x.kind])).toEqual([
        ['c-b', 'lost-message'],
        ['c-b', 'retry'],
      ]);
      expect(before.outbox).toContainEqual(['', 100]);
      // The database as the previous Onceflow left it: none of the newer tables, flow_versions filled by its view.
      for (const table of ['outbox_dispatches', 'flow_versions_by_time', 'anomalies_by_time']) {
        await runner.command(`DROP TABLE ${db}.${table}_mv`);
        await runner.command(`DROP TABLE ${db}.${table}`);
      }
      await runner.command(`CREATE TABLE ${db}.flow_versions (conversation_id String, version UInt64, end_ms Float64)
  ENGINE = ReplacingMergeTree(version) ORDER BY conversation_id SETTINGS index_granularity = 64`);
      await runner.command(`CREATE MATERIALIZED VIEW ${db}.flow_versions_mv TO ${db}.flow_versions
  AS SELECT conversation_id, version, end_ms FROM ${db}.flows`);

      await older.init();
      const tables = await runner.rows<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = '${db}' AND name LIKE 'flow_versions%'`,
      );
      expect(tables.map((table) => table.name).sort()).toEqual(['flow_versions_by_time', 'flow_versions_by_time_mv']);
      expect(await answers()).toEqual(before);
      // The views are back: a version saved now counts.
      await older.saveFlows([{ ...a, analyzedAtMs: t0 + 3000 }]);
      expect((await answers()).byKind).toEqual(['c-b', 'c-a']);
    } finally {
      await older.dropDatabase();
      await older.close();
      await runner.close();
    }
  });

  it('refuses a database whose span tables predate row_json, and leaves it as it was', async () => {
    const older = new ClickHouseStore({ url: CLICKHOUSE_URL, database: testDatabaseName() });
    const runner = new QueryRunner({ url: CLICKHOUSE_URL });
    try {
      await runner.command(`CREATE DATABASE ${older.database}`);
      await runner.command(`CREATE TABLE ${older.database}.spans (ts DateTime, trace_id String) ENGINE = MergeTree ORDER BY ts`);
      await expect(older.init()).rejects.toThrow(/older Onceflow.*drop it or point the collector at a new database/);
      const tables = await runner.rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${older.database}'`);
      expect(tables.map((table) => table.name)).toEqual(['spans']);
    } finally {
      await older.dropDatabase();
      await older.close();
      await runner.close();
    }
  });

  it('refuses a database whose outgoing_index predates committed_ms (the outbox latency would silently go missing)', async () => {
    const store = new ClickHouseStore({ url: CLICKHOUSE_URL, database: testDatabaseName() });
    const runner = new QueryRunner({ url: CLICKHOUSE_URL });
    try {
      await store.init();
      await store.close();
      await runner.command(`ALTER TABLE ${store.database}.outgoing_index DROP COLUMN committed_ms`);
      const again = new ClickHouseStore({ url: CLICKHOUSE_URL, database: store.database });
      try {
        await expect(again.init()).rejects.toThrow(/older Onceflow \(its outgoing_index has no committed_ms column\)/);
      } finally {
        await again.close();
      }
    } finally {
      await runner.command(`DROP DATABASE IF EXISTS ${store.database}`);
      await runner.close();
    }
  });
});
