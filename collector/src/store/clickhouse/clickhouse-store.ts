/**
 * The ClickHouse `SpanStore`, a thin composition: schema in `schema.ts`, SQL text in
 * `row-queries.ts`, `flow-queries.ts`, `aggregate-queries.ts` (every value escaped by
 * `sql-escape.ts`: 18.16 has no query parameters), the insert path in `insert-path.ts`,
 * retention in `retention.ts`, row decoding in `span-rows.ts` and `flow-rows.ts`. Runs on Debian's ClickHouse 18.16
 * and on current servers; newer-only features are chosen once in `server-features.ts`.
 *
 * Idempotency, in two layers: `insertSpans` (serialized) drops spans already stored before it
 * inserts, so aggregates and the rollup count each span once without FINAL; and the span tables
 * are ReplacingMergeTree keyed by (…, trace_id, span_id), with row reads doing
 * `LIMIT 1 BY trace_id, span_id`, so even a duplicate written by a second collector process at
 * the same moment never shows twice in rows and disappears on merge.
 *
 * On a cluster (`cluster` option) the same queries run against Distributed tables over
 * replicated shards (`cluster-ddl.ts`); a conversation's rows share a shard, so both layers hold.
 */
import { ATTR_BUSINESS_KEY } from '@onceflow/instrumentation/semconv';
import type pino from 'pino';
import type { Anomaly, AnomalyKind, FlowRecord, SpanStormKind, TrendGrouping } from '../../model/flow.js';
import type { SpanRow } from '../../model/span.js';
import {
  activityBucketRow,
  coverageRow,
  edgeAggregateRow,
  exportEntryRow,
  exportSequenceRow,
  flowBucketRow,
  spanBucketRow,
} from '../aggregate-rows.js';
import { encodeFlowCursor } from '../flow-cursor.js';
import type {
  ActivityBucketRow,
  ActivityKey,
  AnomalyQuery,
  ConversationActivity,
  CoverageRow,
  EdgeAggregateRow,
  FlowBucketRow,
  FlowPage,
  FlowQuery,
  KeyCount,
  SpanBucketRow,
  SpanStore,
  StoreHealth,
  TimeWindow,
  ExportEntryRow,
  ExportSequenceRow,
} from '../span-store.js';
import { ROW_LIMITS, assertStepMs, inReadOrder, rowLimit } from '../store-inputs.js';
import {
  activityBucketsRollupSql,
  activityBucketsSql,
  edgeAggregatesRollupSql,
  edgeAggregatesSql,
  flowBucketsSql,
  spanBucketsRollupSql,
  spanBucketsSql,
  topKeysSql,
} from './aggregate-queries.js';
import { QueryRunner, waitUntil } from './clickhouse-client.js';
import { anomaliesSql, flowCountsSql, flowPageSql, flowRecordSql } from './flow-queries.js';
import {
  FLOW_COLUMNS,
  anomalyFromRow,
  fromFlowSelectRow,
  summaryFromRow,
  toFlowInsertRow,
  type AnomalySelectRow,
  type FlowSelectRow,
} from './flow-rows.js';
import { SpanInserter } from './insert-path.js';
import { deleteOlderThan } from './retention.js';
import {
  activeConversationsSql,
  findConversationsSql,
  spanCountSql,
  spansOfConversationSql,
  spansOfMessageSql,
  otherConversationOfValuesSql,
  spansOfBusinessKeysSql,
  spansOfTraceSql,
} from './row-queries.js';
import {
  FLOW_INDEX_TABLES,
  LEDGER_COLUMNS,
  backfillFlowIndex,
  backfillOutboxDispatches,
  flowIndexStatements,
  obsoleteStatements,
  schemaStatements,
} from './schema.js';
import { detectFeatures, type ServerFeatures } from './server-features.js';
import { fromRowJson } from './span-rows.js';
import { SqlFragment, sql, sqlDatabase } from './sql-escape.js';
import { SINGLE_SERVER, clusterLayout, ddlWaves, type TableLayout } from './cluster-ddl.js';
import { coverageSql } from './coverage-queries.js';
import { exportEntriesSql, exportSequencesSql } from './export-sequence-queries.js';

export interface ClickHouseStoreOptions {
  url: string;
  /** Database holding Onceflow's tables; created by `init()`. Default `onceflow`. */
  database?: string;
  logger?: pino.Logger;
  /** Seconds a read may run on the server (max_execution_time). Default 30. */
  maxExecutionTimeS?: number;
  /**
   * Trend, activity and edge reads over windows longer than this (ms) use the per-minute
   * rollup (t-digest quantiles); shorter windows read spans (exact quantiles). Default 1 h.
   */
  rollupAfterMs?: number;
  /**
   * A cluster named in the servers' `remote_servers` (`--clickhouse-cluster`): tables are
   * created ON CLUSTER as replicated `_local` tables behind Distributed ones (`cluster-ddl.ts`).
   * Unset: one server.
   */
  cluster?: string;
}

/**
 * Settings of every request in cluster mode. `insert_distributed_sync`: an insert into a
 * Distributed table returns once every shard has stored its rows, so a confirmed insert is
 * stored (the ingest log confirms offsets on it) rather than queued on the node that took it.
 * `distributed_product_mode = 'global'`: an IN subquery over a Distributed table inside a
 * query over another runs once on the node asked and is shipped to the shards (18.16 refuses
 * such queries by default), so lookups across shards stay exact.
 */
const CLUSTER_SETTINGS = { insert_distributed_sync: 1, distributed_product_mode: 'global' } as const;

const nsStringToMs = (ns: string) => Number(BigInt(ns) / 1000n) / 1000;

export class ClickHouseStore implements SpanStore {
  readonly kind = 'clickhouse';
  readonly database: string;
  private readonly db: SqlFragment;
  private readonly runner: QueryRunner;
  private readonly logger?: pino.Logger;
  private features: ServerFeatures | null = null;
  private readonly rollupAfterMs: number;
  private readonly inserter: SpanInserter;
  private readonly layout: TableLayout;
  readonly cluster: string | null;

  constructor(options: ClickHouseStoreOptions) {
    this.database = options.database ?? 'onceflow';
    this.db = sqlDatabase(this.database);
    this.logger = options.logger;
    this.rollupAfterMs = options.rollupAfterMs ?? 3_600_000;
    this.cluster = options.cluster ?? null;
    this.layout = this.cluster === null ? SINGLE_SERVER : clusterLayout(this.cluster, this.database);
    this.runner = new QueryRunner({
      url: options.url,
      maxExecutionTimeS: options.maxExecutionTimeS,
      settings: this.cluster === null ? {} : CLUSTER_SETTINGS,
    });
    this.inserter = new SpanInserter(this.runner, this.db);
  }

  /** The server's version and the optional features in use (after `init()`). */
  get serverFeatures(): ServerFeatures | null {
    return this.features;
  }

  async init(): Promise<void> {
    const [{ version }] = await this.runner.rows<{ version: string }>('SELECT version() AS version');
    this.features = detectFeatures(version);
    await this.refuseOlderSchema();
    await this.refuseOtherLayout();
    const existing = await this.tableNames();
    await this.createAll(schemaStatements(this.db, this.features, this.layout));
    await this.addLedgerColumns();
    await this.createAll(flowIndexStatements(this.db, this.layout));
    if (existing.has('spans') && !existing.has('outbox_dispatches')) await backfillOutboxDispatches(this.runner, this.db);
    if (existing.has('flows')) {
      // Filled once from an older Onceflow's records; what it had and nothing reads any more goes, in order.
      await backfillFlowIndex(
        this.runner,
        this.db,
        FLOW_INDEX_TABLES.map(({ table }) => table).filter((table) => !existing.has(table)),
      );
      for (const statement of obsoleteStatements(this.db, existing, this.layout)) await this.runner.command(statement);
    }
    const [{ s }] = await this.runner.rows<{ s: number }>(sql`SELECT toUInt32(max(ts)) AS s FROM ${this.db}.spans`);
    this.inserter.newestStoredS = Number(s);
    this.logger?.info({ database: this.database, cluster: this.cluster, features: this.features }, 'clickhouse store ready');
  }

  /** One server: in order. A cluster: wave by wave, each wave's statements together (`ddlWaves`). */
  private async createAll(statements: string[]): Promise<void> {
    if (this.cluster === null) {
      for (const statement of statements) await this.runner.command(statement);
      return;
    }
    for (const wave of ddlWaves(statements)) await Promise.all(wave.map((statement) => this.runner.command(statement)));
  }

  /**
   * There are no migrations: a database whose span tables predate `row_json` (the encoded span
   * the lookup tables keep) would fail every insert, and one whose `outgoing_index` predates
   * `committed_ms` would keep its view writing rows without it; either is refused with what to
   * do instead.
   */
  private async refuseOlderSchema(): Promise<void> {
    const [{ tables, current, outgoing, outgoingCurrent }] = await this.runner.rows<Record<string, string>>(
      sql`SELECT uniqExactIf(table, table != 'outgoing_index') AS tables,
  countIf(name = 'row_json' AND table != 'outgoing_index') AS current,
  uniqExactIf(table, table = 'outgoing_index') AS outgoing,
  countIf(name = 'committed_ms' AND table = 'outgoing_index') AS outgoingCurrent
FROM system.columns
WHERE database = ${this.database} AND table IN ('spans', 'spans_by_conversation', 'spans_by_message', 'outgoing_index')`,
    );
    const missing =
      tables !== '0' && current !== tables
        ? 'its span tables have no row_json column'
        : outgoing !== outgoingCurrent
          ? 'its outgoing_index has no committed_ms column'
          : '';
    if (missing) {
      throw new Error(
        `ClickHouse database ${this.database} was created by an older Onceflow (${missing}) ` +
          'and cannot be migrated: drop it or point the collector at a new database',
      );
    }
  }

  /**
   * A database created on one server cannot be used as a cluster's (its `spans` holds the rows
   * and its views write the unsharded tables) nor the other way round: refused, saying which.
   */
  private async refuseOtherLayout(): Promise<void> {
    const rows = await this.runner.rows<{ engine: string }>(
      sql`SELECT engine FROM system.tables WHERE database = ${this.database} AND name = 'spans'`,
    );
    if (rows.length === 0) return;
    const distributed = rows[0].engine === 'Distributed';
    if (distributed === (this.cluster !== null)) return;
    throw new Error(
      distributed
        ? `ClickHouse database ${this.database} was created for a cluster (--clickhouse-cluster): start the collector with it, or use another database`
        : `ClickHouse database ${this.database} was created on one server (without --clickhouse-cluster) and cannot be turned into a cluster's: use a new database`,
    );
  }

  private async tableNames(): Promise<Set<string>> {
    const rows = await this.runner.rows<{ name: string }>(sql`SELECT name FROM system.tables WHERE database = ${this.database}`);
    return new Set(rows.map((row) => row.name));
  }

  /**
   * A flows table created before the exactly-once ledger gets its columns (metadata only; 18.16
   * has no ADD COLUMN IF NOT EXISTS, so the missing ones are looked up). Its older records read
   * back as not judged. A cluster's `flows` postdates these columns (created with them), so this
   * never alters a Distributed table without its `_local` tables.
   */
  private async addLedgerColumns(): Promise<void> {
    const present = await this.runner.rows<{ name: string }>(
      sql`SELECT name FROM system.columns WHERE database = ${this.database} AND table = 'flows'`,
    );
    const names = new Set(present.map((row) => row.name));
    for (const [name, definition] of LEDGER_COLUMNS) {
      if (!names.has(name)) await this.runner.command(sql`ALTER TABLE ${this.db}.flows ADD COLUMN ${new SqlFragment(definition)}`);
    }
  }

  async health(): Promise<StoreHealth> {
    try {
      const [{ version }] = await this.runner.rows<{ version: string }>('SELECT version() AS version');
      const cluster = this.cluster === null ? '' : `, cluster ${this.cluster}`;
      return { ok: true, detail: `clickhouse ${version}, database ${this.database}${cluster}` };
    } catch (error) {
      return { ok: false, detail: (error as Error).message };
    }
  }

  close(): Promise<void> {
    return this.runner.close();
  }

  /** Drops the store's database with everything in it (tests, `onceflow reset`). */
  async dropDatabase(): Promise<void> {
    try {
      await this.runner.command(sql`DROP DATABASE IF EXISTS ${this.db}${new SqlFragment(this.layout.onCluster)}`);
    } catch (error) {
      // Removing many parts on a busy disk can outlast the HTTP timeout; the server carries on.
      if (!/timeout/i.test((error as Error).message)) throw error;
      await waitUntil(async () => {
        const [{ n }] = await this.runner.rows<{ n: string }>(sql`SELECT count() AS n FROM system.databases WHERE name = ${this.database}`);
        return n === '0';
      }, `database ${this.database} is still being dropped`);
    }
  }

  // ---- write -------------------------------------------------------------------------

  /**
   * Serialized (one batch at a time): spans already stored are dropped after one lookup per
   * chunk, so the rollup counts every span once; see `insert-path.ts`.
   */
  insertSpans(spans: SpanRow[]): Promise<void> {
    return this.inserter.insertSpans(spans);
  }

  /** Bulk load (benchmarks, imports) of spans known not to be stored yet: `SpanInserter#loadSpans`. */
  loadSpans(spans: SpanRow[]): Promise<void> {
    return this.inserter.loadSpans(spans);
  }

  async saveFlows(records: FlowRecord[]): Promise<void> {
    await this.runner.insert(`${this.db}.flows`, FLOW_COLUMNS, records.map(toFlowInsertRow));
  }

  /** See `retention.ts`. */
  deleteOlderThan(cutoffMs: number): Promise<void> {
    return deleteOlderThan(this.runner, this.db, this.database, cutoffMs, this.layout);
  }

  // ---- rows --------------------------------------------------------------------------

  private async spans(query: SqlFragment): Promise<SpanRow[]> {
    return (await this.runner.rows<{ row_json: string }>(query)).map((row) => fromRowJson(row.row_json));
  }

  async spansOfBusinessKeys(
    businessKeys: readonly string[],
    limit: number,
    exceptConversationId?: string,
  ): Promise<Map<string, SpanRow[]>> {
    rowLimit(limit);
    const found = new Map(businessKeys.map((key) => [key, [] as SpanRow[]]));
    const keys = [...found.keys()].filter((key) => key !== '');
    if (keys.length === 0) return found;
    // Nothing to read when the keys are in no other conversation (the spans query's own subquery
    // would find none either).
    if ((await this.runner.rows(otherConversationOfValuesSql(this.db, keys, exceptConversationId))).length === 0) return found;
    const query = spansOfBusinessKeysSql(this.db, ATTR_BUSINESS_KEY, keys, limit, exceptConversationId);
    for (const row of await this.runner.rows<{ business_key: string; row_json: string }>(query)) {
      const span = fromRowJson(row.row_json);
      if (span.attributes[ATTR_BUSINESS_KEY] === row.business_key) found.get(row.business_key)!.push(span);
    }
    // Each key's branch is read in order; the branches of a UNION ALL may arrive interleaved.
    for (const spans of found.values()) spans.sort(inReadOrder);
    return found;
  }

  async spansOfConversation(conversationId: string, limit: number): Promise<SpanRow[]> {
    return this.spans(spansOfConversationSql(this.db, conversationId, limit));
  }

  async spansOfMessage(messageId: string, limit: number): Promise<SpanRow[]> {
    return this.spans(spansOfMessageSql(this.db, messageId, limit));
  }

  async spansOfTrace(traceId: string, limit: number): Promise<SpanRow[]> {
    return this.spans(spansOfTraceSql(this.db, traceId, limit));
  }

  async findConversations(q: string, limit: number): Promise<string[]> {
    if (q === '') return [];
    const rows = await this.runner.rows<{ conversation_id: string }>(findConversationsSql(this.db, q, limit));
    return rows.map((row) => row.conversation_id);
  }

  async activeConversations(window: TimeWindow, limit: number): Promise<ConversationActivity[]> {
    const rows = await this.runner.rows<{ conversation_id: string; last_ns: string }>(activeConversationsSql(this.db, window, limit));
    return rows.map((row) => ({ conversationId: row.conversation_id, lastMs: nsStringToMs(row.last_ns) }));
  }

  async spanCount(): Promise<number> {
    const [{ n }] = await this.runner.rows<{ n: string }>(spanCountSql(this.db));
    return Number(n);
  }

  // ---- flow records ------------------------------------------------------------------

  async getFlowRecord(conversationId: string): Promise<FlowRecord | null> {
    const rows = await this.runner.rows<FlowSelectRow>(flowRecordSql(this.db, conversationId));
    return rows.length > 0 ? fromFlowSelectRow(rows[0]) : null;
  }

  async listFlows(query: FlowQuery): Promise<FlowPage> {
    const limit = rowLimit(query.limit, ROW_LIMITS.flows);
    const [rows, counts] = await Promise.all([
      this.runner.rows<FlowSelectRow>(flowPageSql(this.db, query)),
      this.runner.rows<{ kind: string; n: string }>(flowCountsSql(this.db, query)),
    ]);
    const page = rows.slice(0, limit).map(summaryFromRow);
    const last = page[page.length - 1];
    const anomalyCounts: FlowPage['anomalyCounts'] = {};
    let total = 0;
    for (const { kind, n } of counts) {
      if (kind === '') total = Number(n);
      else anomalyCounts[kind as AnomalyKind] = Number(n);
    }
    return {
      flows: page,
      nextCursor: rows.length > limit && last ? encodeFlowCursor(last) : null,
      anomalyCounts,
      total,
    };
  }

  async listAnomalies(query: AnomalyQuery): Promise<Anomaly[]> {
    const rows = await this.runner.rows<AnomalySelectRow>(anomaliesSql(this.db, query));
    return rows.map(anomalyFromRow);
  }

  // ---- aggregates --------------------------------------------------------------------

  /** Long windows with whole-minute steps read the rollup; see `rollupAfterMs`. */
  private useRollup(window: TimeWindow, stepMs: number): boolean {
    return window.toMs - window.fromMs > this.rollupAfterMs && Number.isInteger(stepMs) && stepMs % 60_000 === 0;
  }

  async spanBuckets(window: TimeWindow, stepMs: number, by: TrendGrouping): Promise<SpanBucketRow[]> {
    const build = this.useRollup(window, stepMs) ? spanBucketsRollupSql : spanBucketsSql;
    const rows = await this.runner.rows<Record<string, unknown>>(build(this.db, window, stepMs, by));
    return rows.map(spanBucketRow);
  }

  async flowBuckets(window: TimeWindow, stepMs: number): Promise<FlowBucketRow[]> {
    const rows = await this.runner.rows<Record<string, unknown>>(flowBucketsSql(this.db, window, stepMs));
    return rows.map(flowBucketRow);
  }

  async activityBuckets(window: TimeWindow, stepMs: number): Promise<ActivityBucketRow[]> {
    const build = this.useRollup(window, stepMs) ? activityBucketsRollupSql : activityBucketsSql;
    const rows = await this.runner.rows<Record<string, unknown>>(build(this.db, window, stepMs));
    return rows.map(activityBucketRow);
  }

  async topKeys(window: TimeWindow, key: ActivityKey, kind: SpanStormKind, limit: number): Promise<KeyCount[]> {
    const rows = await this.runner.rows<{ message_id: string; n: string }>(topKeysSql(this.db, window, key, kind, limit));
    return rows.map((row) => ({ messageId: row.message_id, count: Number(row.n) }));
  }

  async edgeAggregates(window: TimeWindow): Promise<EdgeAggregateRow[]> {
    const build = this.useRollup(window, 60_000) ? edgeAggregatesRollupSql : edgeAggregatesSql;
    const rows = await this.runner.rows<Record<string, unknown>>(build(this.db, window));
    return rows.map((row) => edgeAggregateRow(row, row.edge_kind as EdgeAggregateRow['kind']));
  }

  async coverageAggregates(window: TimeWindow): Promise<CoverageRow[]> {
    const rows = await this.runner.rows<Record<string, unknown>>(coverageSql(this.db, window));
    return rows.map(coverageRow);
  }

  async exportSequences(window: TimeWindow, stepMs: number): Promise<ExportSequenceRow[]> {
    const rows = await this.runner.rows<Record<string, unknown>>(exportSequencesSql(this.db, window, assertStepMs(stepMs)));
    return rows.map(exportSequenceRow);
  }
  async exportEntries(window: TimeWindow): Promise<ExportEntryRow[]> {
    const rows = await this.runner.rows<Record<string, unknown>>(exportEntriesSql(this.db, window));
    return rows.map(exportEntryRow);
  }
}
