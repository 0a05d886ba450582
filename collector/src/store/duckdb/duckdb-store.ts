/**
 * The embedded store (default): DuckDB in one file under the data directory, or in memory for
 * tests. Ingest appends spans through two inserter connections (one transaction per batch,
 * committed to DuckDB's WAL before `insertSpans` resolves; other writes go through the first,
 * the writer, one at a time); reads run on a small pool
 * of reader connections and push filtering, grouping and bucketing into SQL. Every value
 * reaches SQL as a bound parameter.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  BIGINT,
  DOUBLE,
  DuckDBConnection,
  DuckDBInstance,
  type DuckDBAppender,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { Logger } from 'pino';
import { ANOMALY_KINDS, type Anomaly, type AnomalyKind, type FlowRecord, type FlowState, type FlowSummary, type StormKind, type TrendGrouping } from '../../model/flow.js';
import { msToNs, nsToMs, type SpanRow } from '../../model/span.js';
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
import {
  activityBucketsSql,
  flowBucketsSql,
  spanBucketsSql,
  topKeysSql,
  type Params,
} from './aggregate-sql.js';
import { decodeFlowCursor, encodeFlowCursor } from '../flow-cursor.js';
import { anomalyFromRow, appendAnomalies, appendFlow } from './flow-codec.js';
import { SCHEMA_STATEMENTS, SPAN_SELECT, STAGING_STATEMENTS } from './schema.js';
import { SpanRollup } from './rollup.js';
import {
  activityBucketsRollupSql,
  edgeAggregatesRollupSql,
  retentionStatements,
  rollupCanServe,
  spanBucketsRollupSql,
} from './rollup-sql.js';
import { SerialQueue } from './serial-queue.js';
import { appendSpans, attributeValueNeedles, spanFromRow } from './span-codec.js';
import { activityBucketRow, edgeAggregateRow, flowBucketRow, spanBucketRow } from '../aggregate-rows.js';

export interface DuckDbStoreOptions {
  /** Directory that holds `onceflow.duckdb`; ignored when `path` is given. */
  dataDir?: string;
  /** Database file path, or ':memory:'. */
  path?: string;
  /** Reader connections (default 2). */
  readers?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
}

export const DUCKDB_FILE_NAME = 'onceflow.duckdb';

type Row = Record<string, unknown>;

interface Lane {
  connection: DuckDBConnection;
  queue: SerialQueue;
}

export class DuckDbStore implements SpanStore {
  readonly kind = 'duckdb';
  /** Two inserter connections: see `write`. */
  readonly insertConcurrency = 2;
  readonly path: string;
  private readonly readerCount: number;
  private readonly logger?: DuckDbStoreOptions['logger'];
  private instance?: DuckDBInstance;
  private writer?: Lane;
  /** Connections that append spans: the writer and one more, see `insertSpans`. */
  private inserters: Lane[] = [];
  private readers: Lane[] = [];
  private rollup?: SpanRollup;
  private closed = false;

  constructor(options: DuckDbStoreOptions) {
    if (options.path) this.path = options.path;
    else if (options.dataDir) this.path = join(options.dataDir, DUCKDB_FILE_NAME);
    else throw new Error('DuckDbStore needs a dataDir or a path');
    this.readerCount = Math.max(1, options.readers ?? 2);
    this.logger = options.logger;
  }

  async init(): Promise<void> {
    if (this.instance) return;
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    this.instance = await DuckDBInstance.create(this.path);
    const writer = await this.instance.connect();
    // Each checkpoint rewrites the changed row groups and indexes; checkpointing every 16 MB of
    // WAL (the default) cost about a third of the insert CPU in measurements. A larger WAL only
    // lengthens replay after a crash.
    await writer.run(`SET checkpoint_threshold = '256MB'`);
    try {
      await refuseTablesWithoutIngestSeq(writer, this.path);
    } catch (error) {
      writer.closeSync();
      this.instance.closeSync();
      this.instance = undefined;
      throw error;
    }
    for (const statement of SCHEMA_STATEMENTS) await writer.run(statement);
    for (const statement of STAGING_STATEMENTS) await writer.run(statement);
    this.writer = { connection: writer, queue: new SerialQueue() };
    this.rollup = new SpanRollup(
      (task) => this.write(task),
      (connection, body) => this.inTransaction(connection, body),
      (error) => this.logger?.error({ store: 'duckdb', err: error }, 'DuckDB rollup failed; the next read retries it'),
    );
    await this.rollup.load(writer);
    const inserter = await this.instance.connect();
    for (const statement of STAGING_STATEMENTS) await inserter.run(statement);
    this.inserters = [this.writer, { connection: inserter, queue: new SerialQueue() }];
    for (let i = 0; i < this.readerCount; i++) {
      const connection = await this.instance.connect();
      // Conversations and messages can have thousands of spans; keep using the index for them.
      await connection.run('SET index_scan_max_count = 100000');
      this.readers.push({ connection, queue: new SerialQueue() });
    }
    this.logger?.info({ store: 'duckdb', path: this.path }, 'DuckDB store ready');
  }

  async health(): Promise<StoreHealth> {
    try {
      await this.query('SELECT 1 AS one');
      return { ok: true, detail: `duckdb ${this.path}` };
    } catch (error) {
      return { ok: false, detail: `duckdb ${this.path}: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.closed || !this.instance) return;
    this.rollup?.stop();
    this.closed = true;
    await Promise.all([...this.inserters, ...this.readers].map((lane) => lane.queue.drain()));
    if (this.path !== ':memory:') await this.writer!.connection.run('CHECKPOINT').catch(() => undefined);
    for (const lane of [...this.inserters, ...this.readers]) lane.connection.closeSync();
    this.instance.closeSync();
    this.logger?.info({ store: 'duckdb', path: this.path }, 'DuckDB store closed');
  }

  // ---- write -------------------------------------------------------------------------

  insertSpans(spans: SpanRow[]): Promise<void> {
    const unique = uniqueSpans(spans);
    if (unique.length === 0) return Promise.resolve();
    // The batch's number for the rollup job, taken when the insert starts (`rollup.ts`).
    let seq = 0n;
    return this.write(async (connection) => {
      seq = this.rollup!.nextSeq();
      // Fast path: append straight into `spans`. A span stored before (an exporter retry)
      // violates the primary key; then the whole batch goes through staging with
      // INSERT OR IGNORE, which is correct but several times slower.
      try {
        await this.inTransaction(connection, () => appendBatch(connection, 'spans', unique, seq));
        return;
      } catch (error) {
        if (!isConstraintViolation(error)) throw error;
      }
      await this.inTransaction(connection, async () => {
        await appendBatch(connection, 'staging_spans', unique, seq);
        await connection.run('INSERT OR IGNORE INTO spans SELECT * FROM staging_spans');
        await connection.run('DELETE FROM staging_spans');
      });
    }, this.idlestInserter()).finally(() => {
      if (seq > 0n) this.rollup!.settled(seq);
    });
  }

  saveFlows(records: FlowRecord[]): Promise<void> {
    const latest = new Map<string, FlowRecord>();
    for (const record of records) {
      const seen = latest.get(record.conversationId);
      if (!seen || record.analyzedAtMs >= seen.analyzedAtMs) latest.set(record.conversationId, record);
    }
    if (latest.size === 0) return Promise.resolve();
    return this.write((connection) =>
      this.inTransaction(connection, async () => {
        const flows = await connection.createAppender('staging_flows');
        const anomalies = await connection.createAppender('staging_anomalies');
        try {
          for (const record of latest.values()) {
            appendFlow(flows, record);
            appendAnomalies(anomalies, record);
          }
          flows.flushSync();
          anomalies.flushSync();
        } finally {
          closeQuietly(flows);
          closeQuietly(anomalies);
        }
        // A stored record analysed later than the incoming one wins (ties go to the newcomer).
        await connection.run(
          `DELETE FROM staging_flows s WHERE EXISTS (
             SELECT 1 FROM flows f WHERE f.conversation_id = s.conversation_id AND f.analyzed_at_ms > s.analyzed_at_ms)`,
        );
        await connection.run('DELETE FROM flows WHERE conversation_id IN (SELECT conversation_id FROM staging_flows)');
        await connection.run('DELETE FROM anomalies WHERE conversation_id IN (SELECT conversation_id FROM staging_flows)');
        await connection.run('INSERT INTO flows SELECT * FROM staging_flows');
        await connection.run(
          'INSERT INTO anomalies SELECT * FROM staging_anomalies WHERE conversation_id IN (SELECT conversation_id FROM staging_flows)',
        );
        await connection.run('DELETE FROM staging_flows');
        await connection.run('DELETE FROM staging_anomalies');
      }),
    );
  }

  deleteOlderThan(cutoffMs: number): Promise<void> {
    const cutoffNs = msToNs(cutoffMs);
    return this.write(async (connection) => {
      // Roll up first, so the rollup rows dropped or rebuilt below are complete.
      await this.rollup!.run(connection);
      await this.inTransaction(connection, async () => {
        await connection.run('DELETE FROM spans WHERE start_ns < $1', [cutoffNs], [BIGINT]);
        for (const statement of retentionStatements(cutoffMs, this.rollup!.watermark)) {
          await connection.run(statement.sql, statement.params, parameterTypes(statement.params));
        }
        // A flow goes once its last activity is older than the cutoff.
        await connection.run(
          'DELETE FROM anomalies WHERE conversation_id IN (SELECT conversation_id FROM flows WHERE end_ms < $1)',
          [cutoffMs],
        );
        await connection.run('DELETE FROM flows WHERE end_ms < $1', [cutoffMs]);
      });
    });
  }

  // ---- rows --------------------------------------------------------------------------

  async spansOfConversation(conversationId: string, limit: number): Promise<SpanRow[]> {
    return this.spansWhere('conversation_id', conversationId, limit);
  }

  async spansOfMessage(messageId: string, limit: number): Promise<SpanRow[]> {
    count(limit);
    const [own, producers] = [this.spansWhere('message_id', messageId, limit), this.spansListing(messageId, limit)];
    const seen = new Set<string>();
    const spans: SpanRow[] = [];
    for (const span of [...(await own), ...(await producers)]) {
      const key = `${span.traceId}/${span.spanId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      spans.push(span);
    }
    return spans.sort(byStart).slice(0, limit);
  }

  /**
   * Spans listing a message id among their outgoing ids: the rolled-up ones through the
   * `outgoing_ids` index (then each by its conversation's index), the few stored since the last
   * rollup run by a scan of just those.
   */
  private async spansListing(messageId: string, limit: number): Promise<SpanRow[]> {
    const watermark = this.rollup!.watermark;
    const [indexed, recent] = await Promise.all([
      this.query('SELECT DISTINCT conversation_id, trace_id, span_id FROM outgoing_ids WHERE outgoing_id = $1 LIMIT $2', [
        messageId,
        limit,
      ]),
      this.query(
        `SELECT ${SPAN_SELECT} FROM spans
         WHERE ingest_seq > $1 AND outgoing_message_ids <> '[]' AND contains(outgoing_message_ids, $2)
           AND list_contains(from_json(outgoing_message_ids, '["VARCHAR"]'), $3)
         LIMIT $4`,
        [watermark, JSON.stringify(messageId), messageId, limit],
      ),
    ]);
    // The conversation index narrows each to its flow; a span without a conversation is found
    // by a scan on its trace id (rare: spans with outgoing ids belong to conversations).
    const groups = new Map<string, { column: 'conversation_id' | 'trace_id'; value: string; rows: Row[] }>();
    for (const row of indexed) {
      const conversationId = row.conversation_id as string;
      const [column, value] = conversationId !== '' ? (['conversation_id', conversationId] as const) : (['trace_id', row.trace_id as string] as const);
      const key = `${column}:${value}`;
      const group = groups.get(key) ?? { column, value, rows: [] };
      group.rows.push(row);
      groups.set(key, group);
    }
    const fetched = await Promise.all(
      [...groups.values()].map(({ column, value, rows }) => {
        const wanted = new Set(rows.map((row) => `${row.trace_id as string}/${row.span_id as string}`));
        const spanIds = rows.map((row) => row.span_id as string);
        // Materialized first: with the span id filter beside it, DuckDB scans the whole table
        // instead of using the conversation index (40 ms against 4 ms at 10M spans).
        return this.query(
          `WITH flow AS MATERIALIZED (SELECT ${SPAN_SELECT} FROM spans WHERE ${column} = $1)
           SELECT * FROM flow WHERE span_id IN (${spanIds.map((_, i) => `$${i + 2}`).join(', ')})`,
          [value, ...spanIds],
        ).then((found) => found.filter((row) => wanted.has(`${row.trace_id as string}/${row.span_id as string}`)));
      }),
    );
    return [...fetched.flat(), ...recent].map(spanFromRow);
  }

  async spansOfTrace(traceId: string, limit: number): Promise<SpanRow[]> {
    return this.spansWhere('trace_id', traceId, limit);
  }

  private async spansWhere(
    column: 'conversation_id' | 'message_id' | 'trace_id',
    value: string,
    limit: number,
  ): Promise<SpanRow[]> {
    // DuckDB answers a selective equality filter on an indexed column with an ART index scan
    // (chosen at run time; EXPLAIN ANALYZE shows "Index Scan"), so this reads only the matches.
    const rows = await this.query(
      `SELECT ${SPAN_SELECT} FROM spans WHERE ${column} = $1 ORDER BY start_ns, trace_id, span_id LIMIT $2`,
      [value, count(limit)],
    );
    return rows.map(spanFromRow);
  }

  async findConversations(q: string, limit: number): Promise<string[]> {
    if (q === '') return [];
    const [value, valueThenComma, valueThenBrace] = attributeValueNeedles(q);
    const rows = await this.query(
      `SELECT conversation_id, max(start_ns) AS last_ns FROM spans
       WHERE conversation_id <> '' AND ${searchMatch('$1', ['$2', '$3', '$4'])}
       GROUP BY conversation_id
       ORDER BY last_ns DESC, conversation_id
       LIMIT $5`,
      [q, value, valueThenComma, valueThenBrace, count(limit)],
    );
    return rows.map((row) => row.conversation_id as string);
  }

  async activeConversations(window: TimeWindow, limit: number): Promise<ConversationActivity[]> {
    const rows = await this.query(
      `SELECT conversation_id, max(start_ns) AS last_ns FROM spans
       WHERE start_ns >= $1 AND start_ns < $2 AND conversation_id <> ''
       GROUP BY conversation_id
       ORDER BY last_ns DESC, conversation_id
       LIMIT $3`,
      [msToNs(window.fromMs), msToNs(window.toMs), count(limit)],
    );
    return rows.map((row) => ({ conversationId: row.conversation_id as string, lastMs: nsToMs(row.last_ns as bigint) }));
  }

  /**
   * Rolls up everything stored so far now instead of in the background (the ingest benchmark
   * measures what this deferred work costs per span).
   */
  rollUp(): Promise<void> {
    if (!this.rollup || this.closed) return Promise.reject(new Error('DuckDB store is not open'));
    return this.rollup.caughtUp();
  }

  async spanCount(): Promise<number> {
    const [row] = await this.query('SELECT count(*) AS n FROM spans');
    return Number(row.n);
  }

  // ---- flow records ------------------------------------------------------------------

  async listFlows(query: FlowQuery): Promise<FlowPage> {
    const params: DuckDBValue[] = [query.fromMs, query.toMs];
    const where = ['start_ms >= $1', 'start_ms < $2'];
    const bind = (value: DuckDBValue) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.q !== undefined && query.q !== '') {
      // Exact match on the record's own keys, or on anything findConversations matches.
      const q = bind(query.q);
      const needles = attributeValueNeedles(query.q).map(bind) as [string, string, string];
      where.push(`(conversation_id = ${q} OR list_contains(idempotency_keys, ${q})
        OR list_contains(business_keys, ${q}) OR list_contains(message_types, ${q})
        OR conversation_id IN (SELECT conversation_id FROM spans WHERE ${searchMatch(q, needles)}))`);
    }
    if (query.service !== undefined) where.push(`list_contains(services, ${bind(query.service)})`);
    if (query.messageType !== undefined) where.push(`list_contains(message_types, ${bind(query.messageType)})`);
    if (query.anomaly !== undefined) where.push(`list_contains(anomaly_kinds, ${bind(anomalyKind(query.anomaly))})`);
    if (query.complete !== undefined) where.push(`complete = ${bind(Boolean(query.complete))}`);
    if (query.state !== undefined) where.push(`state = ${bind(flowState(query.state))}`);
    const filtered = `SELECT * FROM flows WHERE ${where.join(' AND ')}`;
    const filterParams = [...params];

    const pageWhere: string[] = [];
    if (query.cursor !== undefined && query.cursor !== '') {
      const after = decodeFlowCursor(query.cursor);
      const start = bind(after.startMs);
      const id = bind(after.conversationId);
      pageWhere.push(`(start_ms < ${start} OR (start_ms = ${start} AND conversation_id < ${id}))`);
    }
    const limit = count(query.limit);
    const limitParam = bind(limit + 1);
    const pageSql = `SELECT summary, start_ms, conversation_id FROM (${filtered}) f
      ${pageWhere.length ? `WHERE ${pageWhere.join(' AND ')}` : ''}
      ORDER BY start_ms DESC, conversation_id DESC LIMIT ${limitParam}`;

    const [pageRows, totalRows, countRows] = await Promise.all([
      this.query(pageSql, params),
      this.query(`SELECT count(*) AS n FROM (${filtered}) f`, filterParams),
      this.query(
        `SELECT kind, count(*) AS n FROM (SELECT unnest(anomaly_kinds) AS kind FROM (${filtered}) f) GROUP BY kind`,
        filterParams,
      ),
    ]);
    const page = pageRows.slice(0, limit);
    const last = page[page.length - 1];
    const anomalyCounts: Partial<Record<AnomalyKind, number>> = {};
    for (const row of countRows) anomalyCounts[row.kind as AnomalyKind] = Number(row.n);
    return {
      flows: page.map((row) => JSON.parse(row.summary as string) as FlowSummary),
      nextCursor:
        pageRows.length > limit && last ? encodeFlowCursor({ startMs: Number(last.start_ms), conversationId: last.conversation_id as string }) : null,
      anomalyCounts,
      total: Number(totalRows[0].n),
    };
  }

  async getFlowRecord(conversationId: string): Promise<FlowRecord | null> {
    const [flows, anomalies] = await Promise.all([
      this.query(
        'SELECT summary, analyzed_at_ms FROM flows WHERE conversation_id = $1 ORDER BY analyzed_at_ms DESC LIMIT 1',
        [conversationId],
      ),
      this.query('SELECT * FROM anomalies WHERE conversation_id = $1 ORDER BY seq', [conversationId]),
    ]);
    if (flows.length === 0) return null;
    const summary = JSON.parse(flows[0].summary as string) as FlowSummary;
    return { ...summary, anomalies: anomalies.map(anomalyFromRow), analyzedAtMs: Number(flows[0].analyzed_at_ms) };
  }

  async listAnomalies(query: AnomalyQuery): Promise<Anomaly[]> {
    const params: DuckDBValue[] = [query.fromMs, query.toMs];
    const where = ['time_ms >= $1', 'time_ms < $2'];
    if (query.kind !== undefined) {
      params.push(anomalyKind(query.kind));
      where.push(`kind = $${params.length}`);
    }
    if (query.service !== undefined) {
      params.push(query.service);
      where.push(`service = $${params.length}`);
    }
    params.push(count(query.limit));
    const rows = await this.query(
      `SELECT * FROM anomalies WHERE ${where.join(' AND ')}
       ORDER BY time_ms DESC, conversation_id, kind, message_id, seq LIMIT $${params.length}`,
      params,
    );
    return rows.map(anomalyFromRow);
  }

  // ---- aggregates --------------------------------------------------------------------

  // Trends, storms and topology read the rollup (`rollup-sql.ts`) when the step is whole
  // minutes, caught up first so they include every insert that has finished.

  async spanBuckets(window: TimeWindow, stepMs: number, by: TrendGrouping): Promise<SpanBucketRow[]> {
    const rollup = rollupCanServe(stepMs);
    const statement = rollup ? spanBucketsRollupSql(window, stepMs, by) : spanBucketsSql(window, stepMs, by);
    if (rollup) await this.rollup!.caughtUp();
    const rows = await this.run(statement);
    return rows.map(spanBucketRow);
  }

  async flowBuckets(window: TimeWindow, stepMs: number): Promise<FlowBucketRow[]> {
    const rows = await this.run(flowBucketsSql(window, stepMs));
    return rows.map(flowBucketRow);
  }

  async activityBuckets(window: TimeWindow, stepMs: number): Promise<ActivityBucketRow[]> {
    const rollup = rollupCanServe(stepMs);
    const statement = rollup ? activityBucketsRollupSql(window, stepMs) : activityBucketsSql(window, stepMs);
    if (rollup) await this.rollup!.caughtUp();
    const rows = await this.run(statement);
    return rows.map(activityBucketRow);
  }

  async topKeys(window: TimeWindow, key: ActivityKey, kind: StormKind, limit: number): Promise<KeyCount[]> {
    const rows = await this.run(topKeysSql(window, key, kind, count(limit)));
    return rows.map((row) => ({ messageId: row.message_id as string, count: Number(row.n) }));
  }

  async edgeAggregates(window: TimeWindow): Promise<EdgeAggregateRow[]> {
    const statement = edgeAggregatesRollupSql(window);
    await this.rollup!.caughtUp();
    const rows = await this.run(statement);
    return rows.map((row) => edgeAggregateRow(row, row.kind as EdgeAggregateRow['kind']));
  }

  // ---- plumbing ----------------------------------------------------------------------

  private run(statement: { sql: string; params: Params }): Promise<Row[]> {
    return this.query(statement.sql, statement.params);
  }

  private query(sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
    if (!this.instance || this.closed) return Promise.reject(new Error('DuckDB store is not open'));
    // The reader with the shortest queue takes the query.
    const lane = this.readers.reduce((best, lane) => (lane.queue.size < best.queue.size ? lane : best));
    return lane.queue.run(async () => {
      const reader = await lane.connection.runAndReadAll(sql, params, parameterTypes(params));
      return reader.getRowObjectsJS() as Row[];
    });
  }

  /**
   * Runs a write on a lane, the writer unless told otherwise. Inserts alternate between two
   * connections so the next batch is appended on the Node thread while the previous one
   * commits on DuckDB's threads.
   */
  private write<T>(task: (connection: DuckDBConnection) => Promise<T>, lane = this.writer): Promise<T> {
    if (!lane || this.closed) return Promise.reject(new Error('DuckDB store is not open'));
    return lane.queue.run(() => task(lane.connection));
  }

  private idlestInserter(): Lane | undefined {
    return this.inserters.reduce<Lane | undefined>((best, lane) => (!best || lane.queue.size < best.queue.size ? lane : best), undefined);
  }

  private async inTransaction(connection: DuckDBConnection, body: () => Promise<void>): Promise<void> {
    await connection.run('BEGIN TRANSACTION');
    try {
      await body();
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

/** The order of span reads: start, then trace id, then span id. */
function byStart(a: SpanRow, b: SpanRow): number {
  if (a.startNs !== b.startNs) return a.startNs < b.startNs ? -1 : 1;
  if (a.traceId !== b.traceId) return a.traceId < b.traceId ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

/** Drops repeats of (traceId, spanId) within one batch; the first occurrence is kept. */
function uniqueSpans(spans: SpanRow[]): SpanRow[] {
  const seen = new Set<string>();
  const unique: SpanRow[] = [];
  for (const span of spans) {
    const key = `${span.traceId}/${span.spanId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(span);
  }
  return unique;
}

/** Appends a batch to a span table through one appender, flushed (and closed) before returning. */
async function appendBatch(connection: DuckDBConnection, table: 'spans' | 'staging_spans', spans: SpanRow[], seq: bigint): Promise<void> {
  const appender = await connection.createAppender(table);
  try {
    appendSpans(appender, spans, seq);
    appender.flushSync();
  } finally {
    closeQuietly(appender);
  }
}

function isConstraintViolation(error: unknown): boolean {
  return /constraint|duplicate key/i.test((error as Error)?.message ?? '');
}

/**
 * Closes an appender whatever happened. Rows still buffered after a failed flush are cleared
 * first: otherwise closing (or, later, garbage collection) would try to flush them again,
 * inside whatever transaction the connection is running by then.
 */
function closeQuietly(appender: DuckDBAppender): void {
  try {
    appender.clear();
    appender.closeSync();
  } catch {
    // The flush error was already thrown to the caller.
  }
}

/**
 * Files written before spans carried `ingest_seq` cannot take the rollup: DuckDB cannot add a
 * column to a table with indexes. Say so instead of failing on the first insert.
 */
async function refuseTablesWithoutIngestSeq(connection: DuckDBConnection, path: string): Promise<void> {
  const reader = await connection.runAndReadAll(
    `SELECT count(*) FILTER (WHERE column_name = 'ingest_seq') AS seq, count(*) AS columns
     FROM duckdb_columns() WHERE table_name = 'spans' AND schema_name = 'main' AND database_name = current_database()`,
  );
  const [row] = reader.getRowObjectsJS();
  if (Number(row.columns) > 0 && Number(row.seq) === 0) {
    throw new Error(`${path} was written by an older Onceflow (spans without ingest_seq); move it away to start a new store`);
  }
}

/** A row count for LIMIT: a non-negative integer. */
function count(limit: number): number {
  if (!Number.isInteger(limit) || limit < 0) throw new TypeError(`invalid limit: ${limit}`);
  return limit;
}

function anomalyKind(kind: string): AnomalyKind {
  if (!(ANOMALY_KINDS as readonly string[]).includes(kind)) throw new TypeError(`unknown anomaly kind: ${kind}`);
  return kind as AnomalyKind;
}

function flowState(state: string): FlowState {
  if (!FLOW_STATES.includes(state as FlowState)) throw new TypeError(`unknown flow state: ${state}`);
  return state as FlowState;
}

const FLOW_STATES: readonly FlowState[] = ['active', 'complete', 'incomplete'];

/**
 * What `findConversations` matches, given the placeholders of q and of its attribute needles
 * (`attributeValueNeedles`): an id column equal to q, or a span attribute whose value is q.
 */
function searchMatch(q: string, [value, valueThenComma, valueThenBrace]: [string, string, string]): string {
  return `(conversation_id = ${q} OR message_id = ${q} OR idempotency_key = ${q} OR trace_id = ${q}
    OR causation_id = ${q}
    OR (contains(attributes, ${value}) AND (contains(attributes, ${valueThenComma}) OR contains(attributes, ${valueThenBrace}))))`;
}

/**
 * Parameter types: left to inference, a JS bigint would bind as HUGEINT and every comparison
 * with a BIGINT column would widen the column (slow, and no zone-map pruning). Integers bind
 * as BIGINT, other numbers as DOUBLE, the rest as inferred.
 */
function parameterTypes(params: DuckDBValue[]): DuckDBType[] {
  return params.map((value) => {
    if (typeof value === 'bigint') return BIGINT;
    if (typeof value === 'number') return Number.isInteger(value) ? BIGINT : DOUBLE;
    return undefined;
  }) as DuckDBType[];
}

