/**
 * The embedded store (default): DuckDB in one file under the data directory, or in memory for
 * tests. A thin composition: connections in `duckdb-client.ts` (ingest appends spans through
 * two inserter connections, one transaction per batch, committed to DuckDB's WAL before
 * `insertSpans` resolves; other writes go through the writer one at a time; reads run on a
 * small pool of readers), the write path in `insert-path.ts`, SQL per concern in
 * `row-queries.ts`, `flow-queries.ts`, `aggregate-queries.ts` and `rollup-sql.ts`, row
 * decoding in `span-rows.ts` and `flow-rows.ts`, the background rollup in `rollup.ts`.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ATTR_BUSINESS_KEY } from '@onceflow/instrumentation/semconv';
import type { Anomaly, AnomalyKind, FlowRecord, SpanStormKind, TrendGrouping } from '../../model/flow.js';
import { nsToMs, type SpanRow } from '../../model/span.js';
import { encodeFlowCursor } from '../flow-cursor.js';
import {
  activityBucketRow,
  coverageRow,
  edgeAggregateRow,
  exportEntryRow,
  exportSequenceRow,
  flowBucketRow,
  spanBucketRow,
} from '../aggregate-rows.js';
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
import { ROW_LIMITS, assertStepMs, inReadOrder, rowLimit, spanKey, uniqueSpans } from '../store-inputs.js';
import { activityBucketsSql, flowBucketsSql, spanBucketsSql, topKeysSql } from './aggregate-queries.js';
import { DuckDbClient, runOn, type Lane, type Row, type Statement } from './duckdb-client.js';
import { anomaliesSql, deleteFlowsBeforeSql, flowPageSql, flowRecordSql } from './flow-queries.js';
import { anomalyFromRow, summaryFromRow } from './flow-rows.js';
import { insertSpanBatch, latestRecords, saveFlowBatch } from './insert-path.js';
import { SpanRollup } from './rollup.js';
import {
  activityBucketsRollupSql,
  edgeAggregatesRollupSql,
  retentionStatements,
  rollupCanServe,
  spanBucketsRollupSql,
} from './rollup-sql.js';
import {
  activeConversationsSql,
  deleteSpansBeforeSql,
  findConversationsSql,
  flowSpansByIdSql,
  listedInIndexSql,
  listedSinceRollupSql,
  spanCountSql,
  conversationBusinessKeySpansSql,
  businessKeyConversationsSql,
  spansWhereSql,
  spansWhereUnorderedSql,
  type SpanKeyColumn,
} from './row-queries.js';
import { spanFromRow } from './span-rows.js';
import { coverageSql } from './coverage-queries.js';
import { exportEntriesSql, exportSequencesSql } from './export-sequence-queries.js';

/** Index rows (conversations, a repeat now and then) of one business key read by `spansOfBusinessKeys` (its spans are bounded anyway). */
const MAX_BUSINESS_KEY_CONVERSATIONS = 1000;

export interface DuckDbStoreOptions {
  /** Directory that holds `onceflow.duckdb`; ignored when `path` is given. */
  dataDir?: string;
  /** Database file path, or ':memory:'. */
  path?: string;
  /** Reader connections (default 2). */
  readers?: number;
  /** DuckDB's memory limit; its own default (80 % of the machine's memory) when absent. */
  memoryLimitBytes?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
}

export const DUCKDB_FILE_NAME = 'onceflow.duckdb';

export class DuckDbStore implements SpanStore {
  readonly kind = 'duckdb';
  /** Two inserter connections: see `DuckDbClient#write`. */
  readonly insertConcurrency = 2;
  readonly path: string;
  private readonly client: DuckDbClient;
  private readonly logger?: DuckDbStoreOptions['logger'];
  private rollup?: SpanRollup;
  private opened = false;

  constructor(options: DuckDbStoreOptions) {
    if (options.path) this.path = options.path;
    else if (options.dataDir) this.path = join(options.dataDir, DUCKDB_FILE_NAME);
    else throw new Error('DuckDbStore needs a dataDir or a path');
    this.client = new DuckDbClient(this.path, Math.max(1, options.readers ?? 2), options.memoryLimitBytes);
    this.logger = options.logger;
  }

  async init(): Promise<void> {
    if (this.opened) return;
    const writer = await this.client.open();
    this.opened = true;
    this.rollup = new SpanRollup(
      (task) => this.client.write(task),
      (connection, body) => this.client.inTransaction(connection, body),
      (error) => this.logger?.error({ store: 'duckdb', err: error }, 'DuckDB rollup failed; the next read retries it'),
    );
    await this.rollup.load(writer);
    this.logger?.info({ store: 'duckdb', path: this.path }, 'DuckDB store ready');
  }

  async health(): Promise<StoreHealth> {
    try {
      await this.client.query('SELECT 1 AS one');
      return { ok: true, detail: `duckdb ${this.path}` };
    } catch (error) {
      return { ok: false, detail: `duckdb ${this.path}: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (!this.client.isOpen) return;
    this.rollup?.stop();
    await this.client.close();
    this.logger?.info({ store: 'duckdb', path: this.path }, 'DuckDB store closed');
  }

  // ---- write -------------------------------------------------------------------------

  async insertSpans(spans: SpanRow[]): Promise<void> {
    const unique = uniqueSpans(spans);
    if (unique.length === 0) return;
    // A span always goes through the same connection (chosen by its trace id), so two
    // connections never insert one span at once. They did when an exporter's retry landed in
    // two batches in flight, and one of the two commits failed on the duplicate; at 10× overload
    // for 60 s with a 256 MiB store, 2 of 5 runs (a third timed out alike) were then left with
    // DuckDB refusing a span as a duplicate that was never stored, on every retry until the
    // process restarted.
    const parts = new Map<Lane, SpanRow[]>();
    for (const span of unique) {
      const lane = this.client.inserterFor(span.traceId);
      const part = parts.get(lane);
      if (part) part.push(span);
      else parts.set(lane, [span]);
    }
    await Promise.all([...parts].map(([lane, part]) => this.insertPart(lane, part)));
  }

  private insertPart(lane: Lane, spans: SpanRow[]): Promise<void> {
    // The part's number for the rollup job, taken when the insert starts (`rollup.ts`).
    let seq = 0n;
    return this.client
      .write(async (connection) => {
        seq = this.rollup!.nextSeq();
        await insertSpanBatch(this.client, connection, spans, seq);
      }, lane)
      .finally(() => {
        if (seq > 0n) this.rollup!.settled(seq);
      });
  }

  saveFlows(records: FlowRecord[]): Promise<void> {
    const latest = latestRecords(records);
    if (latest.length === 0) return Promise.resolve();
    return this.client.write((connection) => saveFlowBatch(this.client, connection, latest));
  }

  deleteOlderThan(cutoffMs: number): Promise<void> {
    return this.client.write(async (connection) => {
      // Roll up first, so the rollup rows dropped or rebuilt below are complete.
      await this.rollup!.run(connection);
      await this.client.inTransaction(connection, async () => {
        const statements = [
          deleteSpansBeforeSql(cutoffMs),
          ...retentionStatements(cutoffMs, this.rollup!.watermark),
          ...deleteFlowsBeforeSql(cutoffMs),
        ];
        for (const statement of statements) await runOn(connection, statement);
      });
    });
  }

  // ---- rows --------------------------------------------------------------------------

  async spansOfConversation(conversationId: string, limit: number): Promise<SpanRow[]> {
    return this.spansWhere('conversation_id', conversationId, limit);
  }

  /**
   * The spans whose `column` equals `value`, in read order, at most `limit`: read unordered and
   * sorted here when that was all of them (the usual case, and cheaper), else read in order.
   */
  private async spansWhere(column: SpanKeyColumn, value: string, limit: number): Promise<SpanRow[]> {
    const rows = await this.client.run(spansWhereUnorderedSql(column, value, limit));
    if (rows.length < limit) return rows.map(spanFromRow).sort(inReadOrder);
    return this.spans(spansWhereSql(column, value, limit));
  }

  async spansOfMessage(messageId: string, limit: number): Promise<SpanRow[]> {
    rowLimit(limit);
    const [own, producers] = [this.spansWhere('message_id', messageId, limit), this.spansListing(messageId, limit)];
    const seen = new Set<string>();
    const spans: SpanRow[] = [];
    for (const span of [...(await own), ...(await producers)]) {
      const key = spanKey(span);
      if (seen.has(key)) continue;
      seen.add(key);
      spans.push(span);
    }
    return spans.sort(inReadOrder).slice(0, limit);
  }

  /**
   * Spans listing a message id among their outgoing ids: the rolled-up ones through the
   * `outgoing_ids` index (then each by its conversation's index), the few stored since the last
   * rollup run by a scan of just those.
   */
  private async spansListing(messageId: string, limit: number): Promise<SpanRow[]> {
    const [indexed, recent] = await Promise.all([
      this.client.run(listedInIndexSql(messageId, limit)),
      this.client.run(listedSinceRollupSql(this.rollup!.watermark, messageId, limit)),
    ]);
    // The conversation index narrows each to its flow; a span without a conversation is found
    // by a scan on its trace id (rare: spans with outgoing ids belong to conversations).
    const groups = new Map<string, { column: 'conversation_id' | 'trace_id'; value: string; rows: Row[] }>();
    for (const row of indexed) {
      const conversationId = row.conversation_id as string;
      const [column, value] =
        conversationId !== '' ? (['conversation_id', conversationId] as const) : (['trace_id', row.trace_id as string] as const);
      const key = `${column}:${value}`;
      const group = groups.get(key) ?? { column, value, rows: [] };
      group.rows.push(row);
      groups.set(key, group);
    }
    const fetched = await Promise.all(
      [...groups.values()].map(({ column, value, rows }) => {
        const wanted = new Set(rows.map(rowSpanKey));
        const spanIds = rows.map((row) => row.span_id as string);
        return this.client
          .run(flowSpansByIdSql(column, value, spanIds))
          .then((found) => found.filter((row) => wanted.has(rowSpanKey(row))));
      }),
    );
    return [...fetched.flat(), ...recent].map(spanFromRow);
  }

  async spansOfTrace(traceId: string, limit: number): Promise<SpanRow[]> {
    return this.spansWhere('trace_id', traceId, limit);
  }

  /**
   * The conversations of the keys, indexed by the rollup or among the spans stored since its
   * last run if any (one statement), then each conversation's spans of its keys: no scan of
   * every span's attributes, and nothing more when the keys are only in `exceptConversationId`.
   */
  async spansOfBusinessKeys(
    businessKeys: readonly string[],
    limit: number,
    exceptConversationId?: string,
  ): Promise<Map<string, SpanRow[]>> {
    rowLimit(limit);
    const found = new Map(businessKeys.map((key) => [key, [] as SpanRow[]]));
    const keys = [...found.keys()].filter((key) => key !== '');
    if (keys.length === 0) return found;
    const rollup = this.rollup!;
    const since = rollup.caughtUpNow ? null : rollup.watermark;
    const pairs = await this.client.run(businessKeyConversationsSql(keys, since, MAX_BUSINESS_KEY_CONVERSATIONS));
    const keysOf = new Map<string, Set<string>>();
    for (const row of pairs) {
      const conversationId = row.conversation_id as string;
      if (conversationId === exceptConversationId) continue;
      keysOf.set(conversationId, (keysOf.get(conversationId) ?? new Set()).add(row.business_key as string));
    }
    const read = await Promise.all(
      [...keysOf].map(([conversationId, ofConversation]) =>
        this.spans(conversationBusinessKeySpansSql(conversationId, [...ofConversation], limit)),
      ),
    );
    for (const span of uniqueSpans(read.flat())) found.get(span.attributes[ATTR_BUSINESS_KEY])?.push(span);
    for (const [key, spans] of found) found.set(key, spans.sort(inReadOrder).slice(0, limit));
    return found;
  }

  async findConversations(q: string, limit: number): Promise<string[]> {
    if (q === '') return [];
    const rows = await this.client.run(findConversationsSql(q, limit));
    return rows.map((row) => row.conversation_id as string);
  }

  async activeConversations(window: TimeWindow, limit: number): Promise<ConversationActivity[]> {
    const rows = await this.client.run(activeConversationsSql(window, limit));
    return rows.map((row) => ({ conversationId: row.conversation_id as string, lastMs: nsToMs(row.last_ns as bigint) }));
  }

  /**
   * Rolls up everything stored so far now instead of in the background (the ingest benchmark
   * measures what this deferred work costs per span).
   */
  rollUp(): Promise<void> {
    if (!this.rollup || !this.client.isOpen) return Promise.reject(new Error('DuckDB store is not open'));
    return this.rollup.caughtUp();
  }

  async spanCount(): Promise<number> {
    const [row] = await this.client.run(spanCountSql());
    return Number(row.n);
  }

  private async spans(statement: Statement): Promise<SpanRow[]> {
    return (await this.client.run(statement)).map(spanFromRow);
  }

  // ---- flow records ------------------------------------------------------------------

  async listFlows(query: FlowQuery): Promise<FlowPage> {
    const statements = flowPageSql(query);
    const [pageRows, totalRows, countRows] = await Promise.all([
      this.client.run(statements.page),
      this.client.run(statements.total),
      this.client.run(statements.anomalyCounts),
    ]);
    const page = pageRows.slice(0, statements.limit);
    const last = page[page.length - 1];
    const anomalyCounts: Partial<Record<AnomalyKind, number>> = {};
    for (const row of countRows) anomalyCounts[row.kind as AnomalyKind] = Number(row.n);
    return {
      flows: page.map(summaryFromRow),
      nextCursor:
        pageRows.length > statements.limit && last
          ? encodeFlowCursor({ startMs: Number(last.start_ms), conversationId: last.conversation_id as string })
          : null,
      anomalyCounts,
      total: Number(totalRows[0].n),
    };
  }

  async getFlowRecord(conversationId: string): Promise<FlowRecord | null> {
    const statements = flowRecordSql(conversationId);
    const [flows, anomalies] = await Promise.all([this.client.run(statements.flow), this.client.run(statements.anomalies)]);
    if (flows.length === 0) return null;
    return { ...summaryFromRow(flows[0]), anomalies: anomalies.map(anomalyFromRow), analyzedAtMs: Number(flows[0].analyzed_at_ms) };
  }

  async listAnomalies(query: AnomalyQuery): Promise<Anomaly[]> {
    const rows = await this.client.run(anomaliesSql(query));
    return rows.map(anomalyFromRow);
  }

  // ---- aggregates --------------------------------------------------------------------

  // Trends, storms and topology read the rollup (`rollup-sql.ts`) when the step is whole
  // minutes, caught up first so they include every insert that has finished.

  async spanBuckets(window: TimeWindow, stepMs: number, by: TrendGrouping): Promise<SpanBucketRow[]> {
    const rollup = rollupCanServe(stepMs);
    const statement = rollup ? spanBucketsRollupSql(window, stepMs, by) : spanBucketsSql(window, stepMs, by);
    // Both read duplicate processings from the rollup's repeats.
    await this.rollup!.caughtUp();
    const rows = await this.client.run(statement);
    return rows.map(spanBucketRow);
  }

  async flowBuckets(window: TimeWindow, stepMs: number): Promise<FlowBucketRow[]> {
    const rows = await this.client.run(flowBucketsSql(window, stepMs));
    return rows.map(flowBucketRow);
  }

  async activityBuckets(window: TimeWindow, stepMs: number): Promise<ActivityBucketRow[]> {
    const rollup = rollupCanServe(stepMs);
    const statement = rollup ? activityBucketsRollupSql(window, stepMs) : activityBucketsSql(window, stepMs);
    if (rollup) await this.rollup!.caughtUp();
    const rows = await this.client.run(statement);
    return rows.map(activityBucketRow);
  }

  async topKeys(window: TimeWindow, key: ActivityKey, kind: SpanStormKind, limit: number): Promise<KeyCount[]> {
    const rows = await this.client.run(topKeysSql(window, key, kind, rowLimit(limit, ROW_LIMITS.keys)));
    return rows.map((row) => ({ messageId: row.message_id as string, count: Number(row.n) }));
  }

  async edgeAggregates(window: TimeWindow): Promise<EdgeAggregateRow[]> {
    const statement = edgeAggregatesRollupSql(window);
    await this.rollup!.caughtUp();
    const rows = await this.client.run(statement);
    return rows.map((row) => edgeAggregateRow(row, row.kind as EdgeAggregateRow['kind']));
  }

  async coverageAggregates(window: TimeWindow): Promise<CoverageRow[]> {
    const rows = await this.client.run(coverageSql(window));
    return rows.map(coverageRow);
  }

  async exportSequences(window: TimeWindow, stepMs: number): Promise<ExportSequenceRow[]> {
    const rows = await this.client.run(exportSequencesSql(window, assertStepMs(stepMs)));
    return rows.map(exportSequenceRow);
  }
  async exportEntries(window: TimeWindow): Promise<ExportEntryRow[]> {
    const rows = await this.client.run(exportEntriesSql(window));
    return rows.map(exportEntryRow);
  }
}

const rowSpanKey = (row: Row) => spanKey({ traceId: row.trace_id as string, spanId: row.span_id as string });
