/**
 * The ClickHouse `SpanStore`: schema in `schema.ts`, SQL text in `*-queries.ts`, every value
 * escaped by `sql-escape.ts` (18.16 has no query parameters). Runs on Debian's ClickHouse 18.16
 * and on current servers; newer-only features are chosen once in `server-features.ts`.
 *
 * Idempotency: span tables are ReplacingMergeTree keyed by (…, trace_id, span_id), so a batch
 * inserted twice collapses on merge; until then row reads use `LIMIT 1 BY trace_id, span_id`
 * and aggregates read the window with FINAL (pruned by `ts`), so no read counts a span twice.
 */
import type pino from 'pino';
import type { Anomaly, FlowRecord } from '../../model/flow.js';
import type { SpanRow } from '../../model/span.js';
import { msToNs } from '../../model/span.js';
import type {
  ActivityBucketRow,
  AnomalyQuery,
  ConversationActivity,
  EdgeAggregateRow,
  FlowBucketRow,
  FlowPage,
  FlowQuery,
  KeyCount,
  SpanBucketRow,
  SpanStore,
  StoreHealth,
  TimeWindow,
} from '../span-store.js';
import type { TrendGrouping } from '../../model/flow.js';
import { QueryRunner } from './clickhouse-client.js';
import { FLOW_COLUMNS, fromFlowSelectRow, toFlowInsertRow } from './flow-rows.js';
import {
  activeConversationsSql,
  findConversationsSql,
  spanCountSql,
  spansOfConversationSql,
  spansOfMessageSql,
  spansOfTraceSql,
} from './row-queries.js';
import { DAY_PARTITIONED, SPAN_FLAT_COLUMNS, TABLES, schemaStatements, type TableName } from './schema.js';
import { detectFeatures, type ServerFeatures } from './server-features.js';
import { fromSelectRow, toInsertRow, type SpanSelectRow } from './span-rows.js';
import { sql, sqlColumns, sqlDatabase, sqlIdentifier, type SqlFragment } from './sql-escape.js';

export interface ClickHouseStoreOptions {
  url: string;
  /** Database holding Onceflow's tables; created by `init()`. Default `onceflow`. */
  database?: string;
  logger?: pino.Logger;
  /** Seconds a read may run on the server (max_execution_time). Default 30. */
  maxExecutionTimeS?: number;
}

const nsStringToMs = (ns: string) => Number(BigInt(ns) / 1000n) / 1000;

export class ClickHouseStore implements SpanStore {
  readonly kind = 'clickhouse';
  readonly database: string;
  private readonly db: SqlFragment;
  private readonly runner: QueryRunner;
  private readonly logger?: pino.Logger;
  private features: ServerFeatures | null = null;

  constructor(options: ClickHouseStoreOptions) {
    this.database = options.database ?? 'onceflow';
    this.db = sqlDatabase(this.database);
    this.logger = options.logger;
    this.runner = new QueryRunner({ url: options.url, maxExecutionTimeS: options.maxExecutionTimeS });
  }

  /** The server's version and the optional features in use (after `init()`). */
  get serverFeatures(): ServerFeatures | null {
    return this.features;
  }

  async init(): Promise<void> {
    const [{ version }] = await this.runner.rows<{ version: string }>('SELECT version() AS version');
    this.features = detectFeatures(version);
    for (const statement of schemaStatements(this.db, this.features)) await this.runner.command(statement);
    this.logger?.info({ database: this.database, features: this.features }, 'clickhouse store ready');
  }

  async health(): Promise<StoreHealth> {
    try {
      const [{ version }] = await this.runner.rows<{ version: string }>('SELECT version() AS version');
      return { ok: true, detail: `clickhouse ${version}, database ${this.database}` };
    } catch (error) {
      return { ok: false, detail: (error as Error).message };
    }
  }

  close(): Promise<void> {
    return this.runner.close();
  }

  /** Drops the store's database with everything in it (tests, `onceflow reset`). */
  dropDatabase(): Promise<void> {
    return this.runner.command(sql`DROP DATABASE IF EXISTS ${this.db}`);
  }

  // ---- write -------------------------------------------------------------------------

  async insertSpans(spans: SpanRow[]): Promise<void> {
    if (spans.length === 0) return;
    // Duplicates inside one batch are dropped here; across batches the table key collapses them.
    const seen = new Set<string>();
    const rows: unknown[] = [];
    for (const span of spans) {
      const id = span.traceId + span.spanId;
      if (seen.has(id)) continue;
      seen.add(id);
      rows.push(toInsertRow(span));
    }
    await this.runner.insert(`${this.db}.spans`, SPAN_FLAT_COLUMNS, rows);
  }

  async saveFlows(records: FlowRecord[]): Promise<void> {
    await this.runner.insert(`${this.db}.flows`, FLOW_COLUMNS, records.map(toFlowInsertRow));
  }

  /**
   * Whole days before the cutoff's day are dropped as partitions; the cutoff's own day is
   * trimmed with a mutation (waited for, so reads afterwards no longer see the rows).
   */
  async deleteOlderThan(cutoffMs: number): Promise<void> {
    const cutoff = Math.max(0, cutoffMs);
    const cutoffDay = new Date(cutoff).toISOString().slice(0, 10).replaceAll('-', '');
    const cutoffNs = msToNs(cutoff);
    const partitions = await this.runner.rows<{ table: string; partition_id: string }>(
      sql`SELECT DISTINCT table, partition_id FROM system.parts
WHERE database = ${this.database} AND active AND table IN ${[...DAY_PARTITIONED]} AND partition_id < ${cutoffDay}`,
    );
    for (const { table, partition_id } of partitions) {
      await this.runner.command(sql`ALTER TABLE ${this.tableRef(table as TableName)} DROP PARTITION ID ${partition_id}`);
    }
    for (const table of DAY_PARTITIONED) {
      const [{ n }] = await this.runner.rows<{ n: string }>(
        sql`SELECT count() AS n FROM ${this.tableRef(table)} WHERE start_ns < ${cutoffNs}`,
      );
      if (n !== '0') await this.runner.command(sql`ALTER TABLE ${this.tableRef(table)} DELETE WHERE start_ns < ${cutoffNs}`);
    }
    const [{ n }] = await this.runner.rows<{ n: string }>(sql`SELECT count() AS n FROM ${this.db}.flows WHERE end_ms < ${cutoff}`);
    if (n !== '0') await this.runner.command(sql`ALTER TABLE ${this.db}.flows DELETE WHERE end_ms < ${cutoff}`);
    await this.waitForMutations();
  }

  private async waitForMutations(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [{ n }] = await this.runner.rows<{ n: string }>(
        sql`SELECT count() AS n FROM system.mutations WHERE database = ${this.database} AND is_done = 0`,
      );
      if (n === '0') return;
      if (Date.now() > deadline) throw new Error(`ClickHouse mutations in ${this.database} still running after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private tableRef(table: TableName): SqlFragment {
    return sql`${this.db}.${sqlIdentifier(table, TABLES)}`;
  }

  // ---- rows --------------------------------------------------------------------------

  private async spans(query: SqlFragment): Promise<SpanRow[]> {
    return (await this.runner.rows<SpanSelectRow>(query)).map(fromSelectRow);
  }

  spansOfConversation(conversationId: string, limit: number): Promise<SpanRow[]> {
    return this.spans(spansOfConversationSql(this.db, conversationId, limit));
  }

  spansOfMessage(messageId: string, limit: number): Promise<SpanRow[]> {
    return this.spans(spansOfMessageSql(this.db, messageId, limit));
  }

  spansOfTrace(traceId: string, limit: number): Promise<SpanRow[]> {
    return this.spans(spansOfTraceSql(this.db, traceId, limit));
  }

  async findConversations(q: string, limit: number): Promise<string[]> {
    if (q === '') return [];
    const rows = await this.runner.rows<{ conversation_id: string }>(findConversationsSql(this.db, q, limit));
    return rows.map((row) => row.conversation_id);
  }

  async activeConversations(window: TimeWindow, limit: number): Promise<ConversationActivity[]> {
    const rows = await this.runner.rows<{ conversation_id: string; last_ns: string }>(
      activeConversationsSql(this.db, window, limit),
    );
    return rows.map((row) => ({ conversationId: row.conversation_id, lastMs: nsStringToMs(row.last_ns) }));
  }

  async spanCount(): Promise<number> {
    const [{ n }] = await this.runner.rows<{ n: string }>(spanCountSql(this.db));
    return Number(n);
  }

  // ---- flow records ------------------------------------------------------------------

  async getFlowRecord(conversationId: string): Promise<FlowRecord | null> {
    const rows = await this.runner.rows<Parameters<typeof fromFlowSelectRow>[0]>(
      sql`SELECT ${flowColumns} FROM ${this.db}.flows FINAL WHERE conversation_id = ${conversationId} LIMIT 1`,
    );
    return rows.length > 0 ? fromFlowSelectRow(rows[0]) : null;
  }

  listFlows(_query: FlowQuery): Promise<FlowPage> {
    throw new Error('not implemented yet');
  }

  listAnomalies(_query: AnomalyQuery): Promise<Anomaly[]> {
    throw new Error('not implemented yet');
  }

  // ---- aggregates --------------------------------------------------------------------

  spanBuckets(_window: TimeWindow, _stepMs: number, _by: TrendGrouping): Promise<SpanBucketRow[]> {
    throw new Error('not implemented yet');
  }

  flowBuckets(_window: TimeWindow, _stepMs: number): Promise<FlowBucketRow[]> {
    throw new Error('not implemented yet');
  }

  activityBuckets(_window: TimeWindow, _stepMs: number): Promise<ActivityBucketRow[]> {
    throw new Error('not implemented yet');
  }

  topKeys(
    _window: TimeWindow,
    _service: string,
    _messageType: string,
    _kind: 'duplicate' | 'retry',
    _limit: number,
  ): Promise<KeyCount[]> {
    throw new Error('not implemented yet');
  }

  edgeAggregates(_window: TimeWindow): Promise<EdgeAggregateRow[]> {
    throw new Error('not implemented yet');
  }
}

const flowColumns = sqlColumns(FLOW_COLUMNS);
