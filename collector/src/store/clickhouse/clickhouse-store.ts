/**
 * The ClickHouse `SpanStore`: schema in `schema.ts`, SQL text in `*-queries.ts`, every value
 * escaped by `sql-escape.ts` (18.16 has no query parameters). Runs on Debian's ClickHouse 18.16
 * and on current servers; newer-only features are chosen once in `server-features.ts`.
 *
 * Idempotency, in two layers: `insertSpans` (serialized) drops spans already stored before it
 * inserts, so aggregates and the rollup count each span once without FINAL; and the span tables
 * are ReplacingMergeTree keyed by (…, trace_id, span_id), with row reads doing
 * `LIMIT 1 BY trace_id, span_id`, so even a duplicate written by a second collector process at
 * the same moment never shows twice in rows and disappears on merge.
 */
import type pino from 'pino';
import type { Anomaly, AnomalyKind, FlowRecord, FlowSummary } from '../../model/flow.js';
import type { SpanRow } from '../../model/span.js';
import { msToNs } from '../../model/span.js';
import type {
  ActivityBucketRow,
  ActivityKey,
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
import type { StormKind, TrendGrouping } from '../../model/flow.js';
import { QueryRunner } from './clickhouse-client.js';
import { FLOW_COLUMNS, fromFlowSelectRow, toFlowInsertRow } from './flow-rows.js';
import {
  activityBucketsRollupSql,
  activityBucketsSql,
  edgeAggregatesRollupSql,
  edgeAggregatesSql,
  spanBucketsRollupSql,
  flowBucketsSql,
  spanBucketsSql,
  topKeysSql,
} from './aggregate-queries.js';
import { encodeFlowCursor } from '../flow-cursor.js';
import { anomaliesSql, flowCountsSql, flowPageSql } from './flow-queries.js';
import {
  activeConversationsSql,
  rowLimit,
  findConversationsSql,
  spanCountSql,
  spansOfConversationSql,
  spansOfMessageSql,
  spansOfTraceSql,
} from './row-queries.js';
import { DAY_PARTITIONED, SPAN_FLAT_COLUMNS, TABLES, schemaStatements, type TableName } from './schema.js';
import { detectFeatures, type ServerFeatures } from './server-features.js';
import { fromRowJson, toInsertRow, type SpanInsertRow } from './span-rows.js';
import {
  FirstSendCache,
  LOOKUP_CHUNK,
  batchFirstSends,
  earliest,
  lookupSql,
  spanKey,
  isProcessedAttempt,
  previousProcessed,
  startSecond,
  unresolvedMessages,
} from './insert-path.js';
import { isAttemptSpan } from '../../analysis/span-roles.js';
import { sql, sqlColumns, sqlDatabase, sqlIdentifier, type SqlFragment } from './sql-escape.js';
import { activityBucketRow, edgeAggregateRow, flowBucketRow, spanBucketRow } from '../aggregate-rows.js';

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
}

const nsStringToMs = (ns: string) => Number(BigInt(ns) / 1000n) / 1000;

export class ClickHouseStore implements SpanStore {
  readonly kind = 'clickhouse';
  readonly database: string;
  private readonly db: SqlFragment;
  private readonly runner: QueryRunner;
  private readonly logger?: pino.Logger;
  private features: ServerFeatures | null = null;
  private writes: Promise<void> = Promise.resolve();
  private readonly rollupAfterMs: number;
  /** Newest `ts` (unix s) in `spans`, read at init and advanced by this store's inserts. */
  private newestStoredS = Number.MAX_SAFE_INTEGER;
  private readonly firstSends = new FirstSendCache();

  constructor(options: ClickHouseStoreOptions) {
    this.database = options.database ?? 'onceflow';
    this.db = sqlDatabase(this.database);
    this.logger = options.logger;
    this.rollupAfterMs = options.rollupAfterMs ?? 3_600_000;
    this.runner = new QueryRunner({ url: options.url, maxExecutionTimeS: options.maxExecutionTimeS });
  }

  /** The server's version and the optional features in use (after `init()`). */
  get serverFeatures(): ServerFeatures | null {
    return this.features;
  }

  async init(): Promise<void> {
    const [{ version }] = await this.runner.rows<{ version: string }>('SELECT version() AS version');
    this.features = detectFeatures(version);
    await this.refuseOlderSchema();
    for (const statement of schemaStatements(this.db, this.features)) await this.runner.command(statement);
    const [{ s }] = await this.runner.rows<{ s: number }>(sql`SELECT toUInt32(max(ts)) AS s FROM ${this.db}.spans`);
    this.newestStoredS = Number(s);
    this.logger?.info({ database: this.database, features: this.features }, 'clickhouse store ready');
  }

  /**
   * There are no migrations: a database whose span tables predate `row_json` (the encoded span
   * the lookup tables keep) would fail every insert, so it is refused with what to do instead.
   */
  private async refuseOlderSchema(): Promise<void> {
    const [{ tables, current }] = await this.runner.rows<{ tables: string; current: string }>(
      sql`SELECT uniqExact(table) AS tables, countIf(name = 'row_json') AS current FROM system.columns
WHERE database = ${this.database} AND table IN ('spans', 'spans_by_conversation', 'spans_by_message')`,
    );
    if (tables !== '0' && current !== tables) {
      throw new Error(
        `ClickHouse database ${this.database} was created by an older Onceflow (its span tables have no row_json column) ` +
          'and cannot be migrated: drop it or point the collector at a new database',
      );
    }
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
  async dropDatabase(): Promise<void> {
    try {
      await this.runner.command(sql`DROP DATABASE IF EXISTS ${this.db}`);
    } catch (error) {
      // Removing many parts on a busy disk can outlast the HTTP timeout; the server carries on.
      if (!/timeout/i.test((error as Error).message)) throw error;
      await this.waitUntil(async () => {
        const [{ n }] = await this.runner.rows<{ n: string }>(
          sql`SELECT count() AS n FROM system.databases WHERE name = ${this.database}`,
        );
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
    const run = this.writes.then(() => this.insertBatch(spans));
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async insertBatch(spans: SpanRow[]): Promise<void> {
    const unique = new Map<string, SpanRow>();
    for (const span of spans) {
      const key = spanKey(span);
      if (!unique.has(key)) unique.set(key, span);
    }
    const batch = [...unique.values()];
    const sends = batchFirstSends(batch);
    const chunks: SpanRow[][] = [];
    for (let i = 0; i < batch.length; i += LOOKUP_CHUNK) chunks.push(batch.slice(i, i + LOOKUP_CHUNK));
    const stored = new Set<string>();
    const lookedUp = new Map<string, bigint>();
    const storedProcessed = new Map<string, bigint[]>();
    // Two lookups in flight at a time: the server parses one while it scans the other.
    for (let i = 0; i < chunks.length; i += 2) {
      await Promise.all(
        chunks.slice(i, i + 2).map(async (chunk) => {
          const candidates = chunk.filter((span) => startSecond(span) <= this.newestStoredS);
          const processedIds = [
            ...new Set(
              chunk
                .filter((span) => isProcessedAttempt(span) && !this.sentAfterEverythingStored(sends.get(span.messageId)))
                .map((span) => span.messageId),
            ),
          ];
          const query = lookupSql(this.db, candidates, unresolvedMessages(chunk, sends, this.firstSends), processedIds);
          if (!query) return;
          const found = await this.runner.rows<{ k: string; v: string; n: string }>(query, { max_query_size: '1048576' });
          for (const { k, v, n } of found) {
            if (k === 'stored') stored.add(v);
            else if (k === 'send') lookedUp.set(v, BigInt(n));
            else {
              const list = storedProcessed.get(v);
              if (list) list.push(BigInt(n));
              else storedProcessed.set(v, [BigInt(n)]);
            }
          }
        }),
      );
    }
    await this.insertRows(
      batch.filter((span) => !stored.has(spanKey(span))),
      sends,
      lookedUp,
      storedProcessed,
    );
  }

  /**
   * Bulk load (benchmarks, imports): inserts spans known NOT to be stored yet, without the
   * duplicate lookup. Earliest sends and earlier processed attempts are resolved from the batch
   * and the in-memory send cache only, so each batch must hold whole conversations (or at least
   * every send and attempt of each message in it). Rows are built exactly as `insertSpans`
   * builds them, and the insert fires the same materialized views.
   */
  loadSpans(spans: SpanRow[]): Promise<void> {
    const run = this.writes.then(() => this.insertRows(spans, batchFirstSends(spans), new Map(), new Map()));
    this.writes = run.catch(() => undefined);
    return run;
  }

  /** Builds insert rows (with `first_send_ns`, `prev_processed_ns`) and inserts them. */
  private async insertRows(
    toInsert: SpanRow[],
    sends: Map<string, bigint>,
    lookedUp: Map<string, bigint>,
    storedProcessed: Map<string, bigint[]>,
  ): Promise<void> {
    const previous = previousProcessed(toInsert, storedProcessed);
    const rows: SpanInsertRow[] = [];
    let newest = this.newestStoredS;
    for (const span of toInsert) {
      const row = toInsertRow(span);
      const prev = previous.get(span);
      if (prev) row.prev_processed_ns = prev.toString();
      if (span.messageId !== '' && isAttemptSpan(span)) {
        const first = earliest(sends.get(span.messageId), this.firstSends.get(span.messageId), lookedUp.get(span.messageId));
        row.first_send_ns = first.toString();
      }
      rows.push(row);
      newest = Math.max(newest, row.ts as number);
    }
    // Advanced before the insert: a failed insert may have committed some partitions, and a
    // higher mark only means more lookups on the retry.
    this.newestStoredS = newest;
    await this.runner.insert(`${this.db}.spans`, SPAN_FLAT_COLUMNS, rows);
    for (const [messageId, startNs] of sends) this.firstSends.offer(messageId, startNs);
  }

  /**
   * A message whose send in this batch is newer than every stored span cannot have a stored
   * attempt (an attempt starts after its send), so its processed attempts need no lookup.
   */
  private sentAfterEverythingStored(sendNs: bigint | undefined): boolean {
    return sendNs !== undefined && Number(sendNs / 1_000_000_000n) > this.newestStoredS;
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
WHERE database = ${this.database} AND active AND has(${[...DAY_PARTITIONED]}, table) AND partition_id < ${cutoffDay}`,
    );
    for (const { table, partition_id } of partitions) {
      await this.runner.command(sql`ALTER TABLE ${this.tableRef(table as TableName)} DROP PARTITION ID ${partition_id}`);
    }
    // The rollup keeps whole minutes: the cutoff's own minute stays.
    const cutoffMinute = Math.floor(cutoff / 60_000) * 60;
    for (const table of DAY_PARTITIONED) {
      const older = table === 'span_rollup' ? sql`minute < toDateTime(${cutoffMinute})` : sql`start_ns < ${cutoffNs}`;
      const [{ n }] = await this.runner.rows<{ n: string }>(sql`SELECT count() AS n FROM ${this.tableRef(table)} WHERE ${older}`);
      if (n !== '0') await this.runner.command(sql`ALTER TABLE ${this.tableRef(table)} DELETE WHERE ${older}`);
    }
    const [{ n }] = await this.runner.rows<{ n: string }>(sql`SELECT count() AS n FROM ${this.db}.flows WHERE end_ms < ${cutoff}`);
    if (n !== '0') await this.runner.command(sql`ALTER TABLE ${this.db}.flows DELETE WHERE end_ms < ${cutoff}`);
    await this.waitForMutations();
  }

  private waitForMutations(): Promise<void> {
    return this.waitUntil(async () => {
      const [{ n }] = await this.runner.rows<{ n: string }>(
        sql`SELECT count() AS n FROM system.mutations WHERE database = ${this.database} AND is_done = 0`,
      );
      return n === '0';
    }, `mutations in ${this.database} are still running`);
  }

  private async waitUntil(done: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`ClickHouse: ${what} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private tableRef(table: TableName): SqlFragment {
    return sql`${this.db}.${sqlIdentifier(table, TABLES)}`;
  }

  // ---- rows --------------------------------------------------------------------------

  private async spans(query: SqlFragment): Promise<SpanRow[]> {
    return (await this.runner.rows<{ row_json: string }>(query)).map((row) => fromRowJson(row.row_json));
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
      // The highest version is what FINAL would keep; sorting the few rows of one conversation
      // avoids FINAL's merge of every part's granule (3-4× slower for one record).
      sql`SELECT ${flowColumns} FROM ${this.db}.flows WHERE conversation_id = ${conversationId}
ORDER BY version DESC LIMIT 1`,
    );
    return rows.length > 0 ? fromFlowSelectRow(rows[0]) : null;
  }

  async listFlows(query: FlowQuery): Promise<FlowPage> {
    const limit = rowLimit(query.limit, 10_000);
    const [rows, counts] = await Promise.all([
      this.runner.rows<Parameters<typeof fromFlowSelectRow>[0]>(flowPageSql(this.db, query)),
      this.runner.rows<{ kind: string; n: string }>(flowCountsSql(this.db, query)),
    ]);
    const page = rows.slice(0, limit).map((row) => toFlowSummary(row));
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
    const rows = await this.runner.rows<{
      conversation_id: string;
      kind: AnomalyKind;
      severity: Anomaly['severity'];
      message_id: string;
      message_type: string;
      service: string;
      detail: string;
      time_ms: number;
    }>(anomaliesSql(this.db, query));
    return rows.map((row) => ({
      kind: row.kind,
      severity: row.severity,
      conversationId: row.conversation_id,
      messageId: row.message_id,
      messageType: row.message_type,
      service: row.service,
      detail: row.detail,
      timeMs: Number(row.time_ms),
    }));
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

  async topKeys(window: TimeWindow, key: ActivityKey, kind: StormKind, limit: number): Promise<KeyCount[]> {
    const rows = await this.runner.rows<{ message_id: string; n: string }>(topKeysSql(this.db, window, key, kind, limit));
    return rows.map((row) => ({ messageId: row.message_id, count: Number(row.n) }));
  }

  async edgeAggregates(window: TimeWindow): Promise<EdgeAggregateRow[]> {
    const build = this.useRollup(window, 60_000) ? edgeAggregatesRollupSql : edgeAggregatesSql;
    const rows = await this.runner.rows<Record<string, unknown>>(build(this.db, window));
    return rows.map((row) => edgeAggregateRow(row, row.edge_kind as EdgeAggregateRow['kind']));
  }
}


function toFlowSummary(row: Parameters<typeof fromFlowSelectRow>[0]): FlowSummary {
  const { anomalies: _anomalies, analyzedAtMs: _analyzedAtMs, ...summary } = fromFlowSelectRow({
    ...row,
    'anomalies.kind': [],
    'anomalies.severity': [],
    'anomalies.message_id': [],
    'anomalies.message_type': [],
    'anomalies.service': [],
    'anomalies.detail': [],
    'anomalies.time_ms': [],
    analyzed_at_ms: 0,
    version: '0',
  });
  return summary;
}

const flowColumns = sqlColumns(FLOW_COLUMNS);
