/**
 * The rollup job of the DuckDB store. Every insert stamps its spans with one `ingest_seq`
 * (constant per batch, so the insert path does no per-span work for it); the job aggregates the
 * spans above its watermark into the rollup tables (`rollup-schema.ts`) on the writer
 * connection, in one transaction with the new watermark. It runs shortly after inserts (in the
 * background) and before every read of the rollup, so a read right after an insert is exact.
 */
import { BIGINT, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import {
  compactPeriods,
  DROP_STAGED_SQL,
  INSERT_NEW_ROLLUP_SQL,
  INSERT_OUTGOING_IDS_SQL,
  INSERT_BUSINESS_KEYS_SQL,
  INSERT_PROCESSED_KEYS_SQL,
  INSERT_UNIDENTIFIED_REPEATS_SQL,
  INSERT_WAITING_SQL,
  NEW_SPANS_RANGE_SQL,
  REPEAT_CANDIDATES_SQL,
  RESOLVE_WAITING_SQL,
  refreshRepeats,
  stageNewEntries,
  TOUCHED_PERIODS_SQL,
} from './rollup-sql.js';
import { OUTBOX_LATENCY_RUN_SQL } from './outbox-latency-sql.js';

/**
 * How long after an insert the background run starts (inserts in between join the run). A run
 * has a fixed cost (~60 ms at 10M spans, see README); reads catch up on their own anyway.
 */
export const ROLLUP_DELAY_MS = 5000;
/** Message ids per repeats lookup (an ART index scan takes a bound list of this size). */
const REPEAT_LOOKUP_CHUNK = 200;
/** Runs that may add rows to a period still receiving spans before its rows are merged. */
const COMPACT_AFTER_RUNS = 30;

type Writer = <T>(task: (connection: DuckDBConnection) => Promise<T>) => Promise<T>;
type Transaction = (connection: DuckDBConnection, body: () => Promise<void>) => Promise<void>;

export class SpanRollup {
  /** Highest `ingest_seq` handed out. */
  private lastSeq = 0n;
  /** Inserts running now (two inserter connections: they may commit out of order). */
  private readonly inFlight = new Set<bigint>();
  /** Reads waiting for the inserts up to a number to finish. */
  private waiters: { seq: bigint; resolve: () => void }[] = [];
  private rolledUpSeq = 0n;
  /** Per 5-minute period: runs that added rows to it since it was last compacted. */
  private readonly fragments = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  private pending?: Promise<void>;

  constructor(
    private readonly write: Writer,
    private readonly inTransaction: Transaction,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Reads the watermark and the highest stored sequence (on the writer, before any insert). */
  async load(connection: DuckDBConnection): Promise<void> {
    const state = await connection.runAndReadAll('SELECT max(rolled_up_seq) AS seq FROM rollup_state');
    const stored = await connection.runAndReadAll('SELECT max(ingest_seq) AS seq FROM spans');
    this.rolledUpSeq = BigInt((state.getRowObjectsJS()[0].seq as bigint | null) ?? 0n);
    this.lastSeq = BigInt((stored.getRowObjectsJS()[0].seq as bigint | null) ?? 0n);
    if (this.lastSeq < this.rolledUpSeq) this.lastSeq = this.rolledUpSeq;
    if (this.lastSeq > this.rolledUpSeq) this.schedule();
  }

  /** Every insert numbered up to this has finished (committed or rolled back). */
  private settledThrough(): bigint {
    let lowest = this.lastSeq + 1n;
    for (const seq of this.inFlight) if (seq < lowest) lowest = seq;
    return lowest - 1n;
  }

  /**
   * The sequence number of the next insert. Call it inside the insert's writer task: a run
   * rolls up to the last number handed out, which must not belong to an insert still queued.
   */
  nextSeq(): bigint {
    this.lastSeq += 1n;
    this.inFlight.add(this.lastSeq);
    return this.lastSeq;
  }

  /** An insert finished (either way): its spans, if any, are waiting to be rolled up. */
  settled(seq: bigint): void {
    this.inFlight.delete(seq);
    const through = this.settledThrough();
    const ready = this.waiters.filter((waiter) => waiter.seq <= through);
    this.waiters = this.waiters.filter((waiter) => waiter.seq > through);
    for (const waiter of ready) waiter.resolve();
    this.schedule();
  }

  /**
   * Everything stored by inserts that finished before this call is rolled up: waits for the
   * inserts started earlier (an insert that finished may have overtaken one still committing),
   * then runs the job if it is behind.
   */
  async caughtUp(): Promise<void> {
    const target = this.lastSeq;
    if (this.settledThrough() < target) await new Promise<void>((resolve) => this.waiters.push({ seq: target, resolve }));
    if (this.rolledUpSeq >= target) return;
    await this.runSoon();
    // A run that was already queued may have stopped short of the target.
    if (this.rolledUpSeq < target) await this.runSoon();
  }

  /** Spans stored by inserts above this number are not in the rollup tables yet. */
  get watermark(): bigint {
    return this.rolledUpSeq;
  }

  /** Whether no insert was started since the last run: every stored span is in the rollup tables. */
  get caughtUpNow(): boolean {
    return this.lastSeq <= this.rolledUpSeq;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.pending) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runSoon().catch(this.onError);
    }, ROLLUP_DELAY_MS);
    this.timer.unref();
  }

  /** One queued run at a time; callers arriving meanwhile share it. */
  private runSoon(): Promise<void> {
    if (!this.pending) {
      this.stop();
      this.pending = this.write((connection) => this.run(connection)).finally(() => {
        this.pending = undefined;
        if (this.lastSeq > this.rolledUpSeq) this.schedule();
      });
    }
    return this.pending;
  }

  /** Rolls up every stored span above the watermark. Call on the writer connection only. */
  async run(connection: DuckDBConnection): Promise<void> {
    const after = this.rolledUpSeq;
    // Inserts on the other connection may still be committing: stop below the first of them.
    const upTo = this.settledThrough();
    if (upTo <= after) return;
    await this.inTransaction(connection, async () => {
      const range = (await read(connection, NEW_SPANS_RANGE_SQL, [after, upTo]))[0];
      if (range.lo !== null) {
        const staged = stageNewEntries(after, upTo, range.lo as bigint, range.hi as bigint);
        await exec(connection, staged.sql, staged.params);
        for (const sql of INSERT_NEW_ROLLUP_SQL) await connection.run(sql);
        for (const sql of RESOLVE_WAITING_SQL) await connection.run(sql);
        await connection.run(INSERT_WAITING_SQL);
        const candidates = (await read(connection, REPEAT_CANDIDATES_SQL)).map((row) => row.message_id as string);
        await connection.run(INSERT_PROCESSED_KEYS_SQL);
        await connection.run(INSERT_UNIDENTIFIED_REPEATS_SQL);
        for (let i = 0; i < candidates.length; i += REPEAT_LOOKUP_CHUNK) {
          for (const statement of refreshRepeats(candidates.slice(i, i + REPEAT_LOOKUP_CHUNK))) {
            await exec(connection, statement.sql, statement.params);
          }
        }
        await exec(connection, INSERT_OUTGOING_IDS_SQL, [after, upTo]);
        await exec(connection, INSERT_BUSINESS_KEYS_SQL, [after, upTo]);
        for (const sql of OUTBOX_LATENCY_RUN_SQL) await exec(connection, sql, sql.includes('$1') ? [after, upTo] : []);
        const touched = (await read(connection, TOUCHED_PERIODS_SQL)).map((row) => Number(row.period_ms));
        const periods = pickPeriods(this.fragments, touched);
        if (periods.length > 0) {
          for (const statement of compactPeriods(periods)) await exec(connection, statement.sql, statement.params);
        }
        for (const sql of DROP_STAGED_SQL) await connection.run(sql);
      }
      await connection.run('DELETE FROM rollup_state');
      await exec(connection, 'INSERT INTO rollup_state VALUES ($1)', [upTo]);
    });
    this.rolledUpSeq = upTo;
  }
}

/**
 * Counts the runs per period and picks the periods to merge: those left behind by this run
 * (traffic moved on) and those still receiving rows after many runs.
 */
function pickPeriods(fragments: Map<number, number>, touched: number[]): number[] {
  for (const period of touched) fragments.set(period, (fragments.get(period) ?? 0) + 1);
  const now = new Set(touched);
  const picked = [...fragments].filter(([period, runs]) => (!now.has(period) && runs > 1) || runs >= COMPACT_AFTER_RUNS);
  for (const [period] of picked) fragments.delete(period);
  for (const [period] of fragments) if (!now.has(period)) fragments.delete(period);
  return picked.map(([period]) => period);
}

/** A JS bigint would bind as HUGEINT (see `parameterTypes` in duckdb-client.ts). */
function bigintTypes(params: DuckDBValue[]): DuckDBType[] {
  return params.map((value) => (typeof value === 'bigint' ? BIGINT : undefined)) as DuckDBType[];
}

async function exec(connection: DuckDBConnection, sql: string, params: DuckDBValue[]): Promise<void> {
  await connection.run(sql, params, bigintTypes(params));
}

async function read(connection: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql, params, bigintTypes(params));
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}
