/**
 * The DuckDB connections of the embedded store: one database instance, a writer, a second
 * inserter and a small pool of readers, each used one statement at a time through its own
 * queue. Every value reaches SQL as a bound parameter, typed by `parameterTypes`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BIGINT, DOUBLE, DuckDBConnection, DuckDBInstance, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { ROLLUP_MIGRATIONS } from './rollup-schema.js';
import { SCHEMA_STATEMENTS, STAGING_STATEMENTS } from './schema.js';
import { SerialQueue } from './serial-queue.js';

export type Row = Record<string, unknown>;
export type Params = DuckDBValue[];

export interface Statement {
  sql: string;
  params: Params;
}

export interface Lane {
  connection: DuckDBConnection;
  queue: SerialQueue;
}

export class DuckDbClient {
  private instance?: DuckDBInstance;
  /** Runs every write but span inserts, and half of those. */
  writer?: Lane;
  /** Connections that append spans: the writer and one more (see `write`). */
  private inserters: Lane[] = [];
  private readers: Lane[] = [];
  private closed = false;

  constructor(
    readonly path: string,
    private readonly readerCount: number,
    private readonly memoryLimitBytes?: number,
  ) {}

  get isOpen(): boolean {
    return this.instance !== undefined && !this.closed;
  }

  /** Opens the database, creates the schema and connects every lane. */
  async open(): Promise<DuckDBConnection> {
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    // Set at creation: the buffer pool is sized before the first statement runs.
    const options = this.memoryLimitBytes ? { memory_limit: `${Math.floor(this.memoryLimitBytes / 1024)}KiB` } : undefined;
    this.instance = await DuckDBInstance.create(this.path, options);
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
    for (const { name, sql } of ROLLUP_MIGRATIONS) {
      const applied = await writer.runAndReadAll('SELECT 1 FROM store_migrations WHERE name = $1', [name]);
      if (applied.getRows().length > 0) continue;
      await writer.run(sql);
      await writer.run('INSERT INTO store_migrations VALUES ($1)', [name]);
    }
    for (const statement of STAGING_STATEMENTS) await writer.run(statement);
    this.writer = { connection: writer, queue: new SerialQueue() };
    const inserter = await this.instance.connect();
    for (const statement of STAGING_STATEMENTS) await inserter.run(statement);
    this.inserters = [this.writer, { connection: inserter, queue: new SerialQueue() }];
    for (let i = 0; i < this.readerCount; i++) {
      const connection = await this.instance.connect();
      // Conversations and messages can have thousands of spans; keep using the index for them.
      await connection.run('SET index_scan_max_count = 100000');
      this.readers.push({ connection, queue: new SerialQueue() });
    }
    return writer;
  }

  /** Waits for queued work, checkpoints a file and closes every connection. */
  async close(): Promise<void> {
    if (this.closed || !this.instance) return;
    this.closed = true;
    await Promise.all([...this.inserters, ...this.readers].map((lane) => lane.queue.drain()));
    if (this.path !== ':memory:') await this.writer!.connection.run('CHECKPOINT').catch(() => undefined);
    for (const lane of [...this.inserters, ...this.readers]) lane.connection.closeSync();
    this.instance.closeSync();
  }

  run(statement: Statement): Promise<Row[]> {
    return this.query(statement.sql, statement.params);
  }

  query(sql: string, params: Params = []): Promise<Row[]> {
    if (!this.isOpen) return Promise.reject(new Error('DuckDB store is not open'));
    // The reader with the shortest queue takes the query.
    const lane = this.readers.reduce((best, lane) => (lane.queue.size < best.queue.size ? lane : best));
    return lane.queue.run(async () => {
      const reader = await lane.connection.runAndReadAll(sql, params, parameterTypes(params));
      return reader.getRowObjectsJS() as Row[];
    });
  }

  /**
   * Runs a write on a lane, the writer unless told otherwise. Span inserts are spread over two
   * connections so one part is appended on the Node thread while another commits on DuckDB's
   * threads.
   */
  write<T>(task: (connection: DuckDBConnection) => Promise<T>, lane = this.writer): Promise<T> {
    if (!lane || this.closed) return Promise.reject(new Error('DuckDB store is not open'));
    return lane.queue.run(() => task(lane.connection));
  }

  /** The inserter that takes every span of this trace (see `DuckDbStore#insertSpans`). */
  inserterFor(traceId: string): Lane {
    if (this.inserters.length === 0) throw new Error('DuckDB store is not open');
    return this.inserters[(traceId.charCodeAt(traceId.length - 1) || 0) % this.inserters.length];
  }

  async inTransaction(connection: DuckDBConnection, body: () => Promise<void>): Promise<void> {
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

/** Runs a statement on a write connection, its parameters typed as on reads. */
export function runOn(connection: DuckDBConnection, statement: Statement): Promise<unknown> {
  return connection.run(statement.sql, statement.params, parameterTypes(statement.params));
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

/**
 * Parameter types: left to inference, a JS bigint would bind as HUGEINT and every comparison
 * with a BIGINT column would widen the column (slow, and no zone-map pruning). Integers bind
 * as BIGINT, other numbers as DOUBLE, the rest as inferred.
 */
export function parameterTypes(params: Params): DuckDBType[] {
  return params.map((value) => {
    if (typeof value === 'bigint') return BIGINT;
    if (typeof value === 'number') return Number.isInteger(value) ? BIGINT : DOUBLE;
    return undefined;
  }) as DuckDBType[];
}
