/**
 * Feeds the store from the ingest log, after the receiver has acknowledged: takes records in
 * log order, inserts their spans in batches (retrying a failed insert until the store takes
 * it — stores are idempotent on (traceId, spanId), so a retry or a replay never doubles a
 * span), and once every batch up to an offset is committed, confirms that offset to the log
 * and tells `onSpansStored` (the flow indexer) about those spans, in log order.
 *
 * Spans of fresh records are kept in memory (the "hot" queue, up to `maxHotSpans`) so the
 * common case decodes each request once. Records that do not fit — the store fell behind —
 * and records left unconfirmed by a previous run are read back from the log and decoded again;
 * the receiver asks `keepsInMemory` first, so it builds no rows that would be dropped here.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { SpanRow } from '../model/span.js';
import type { SpanStore } from '../store/span-store.js';
import type { AppendedRecord, IngestLog, StoredRecord } from './log/ingest-log.js';

export interface FeedingOptions {
  /** A store insert holds at most about this many spans (one record more may go over). */
  maxBatchSpans: number;
  /** Inserts in flight at once (the store's `insertConcurrency`). */
  maxConcurrentInserts: number;
  /** Spans of acknowledged records kept in memory for the store; beyond, they are read back from disk. */
  maxHotSpans: number;
  /** First wait after a failed insert; doubled per failure up to `maxRetryDelayMs`. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

export const DEFAULT_FEEDING_OPTIONS: FeedingOptions = {
  maxBatchSpans: 20_000,
  maxConcurrentInserts: 1,
  maxHotSpans: 20_000,
  retryDelayMs: 100,
  maxRetryDelayMs: 5_000,
};

export interface LogFeederOptions extends FeedingOptions {
  log: IngestLog;
  store: Pick<SpanStore, 'insertSpans'>;
  /** The spans a record read back from the log acknowledged (decoded and validated as when received). */
  spansOf: (record: StoredRecord) => SpanRow[];
  /** Told about committed spans in log order; errors it throws are logged. */
  onSpansStored?: (spans: SpanRow[]) => void | Promise<void>;
  logger?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
}

export interface FeederStats {
  storedSpans: number;
  /** Store inserts committed. */
  batches: number;
  failedInserts: number;
  /** The last insert error while the store is failing; null when it takes spans. */
  storeError: string | null;
}

interface HotRecord extends AppendedRecord {
  spans: SpanRow[];
}

interface Batch {
  end: number;
  spans: SpanRow[];
  /** Spans the batch's records acknowledged (its spans, unless a record was damaged on disk). */
  acknowledged: number;
  done: boolean;
}

/** How often a store that keeps failing is reported again. */
const FAILURE_REPORT_INTERVAL_MS = 30_000;

export class LogFeeder {
  private readonly hot: HotRecord[] = [];
  private hotSpans = 0;
  private readonly inflight: Batch[] = [];
  private readCursor: number;
  private reading = false;
  private pumpScheduled = false;
  private stopped = false;
  private waiters: { offset: number; resolve: () => void }[] = [];
  private lastFailureReportMs = 0;
  private readonly stats: FeederStats = { storedSpans: 0, batches: 0, failedInserts: 0, storeError: null };

  constructor(private readonly options: LogFeederOptions) {
    this.readCursor = options.log.confirmedOffset;
  }

  /** Starts feeding what the log already holds (records a previous run left unconfirmed). */
  start(): void {
    this.schedulePump();
  }

  /** Whether the spans of a record offered now would be kept in memory (else its record is read back from the log). */
  keepsInMemory(spanCount: number): boolean {
    return this.hotSpans + spanCount <= this.options.maxHotSpans;
  }

  /** A record was appended (durably) with these spans; null when they were not built (the record is read back). */
  offer(record: AppendedRecord, spans: SpanRow[] | null): void {
    if (spans && record.end > this.readCursor && this.hotSpans + spans.length <= this.options.maxHotSpans) {
      const at =
        this.hot.length === 0 || this.hot.at(-1)!.start < record.start
          ? this.hot.length
          : this.hot.findIndex((r) => r.start > record.start);
      this.hot.splice(at, 0, { ...record, spans });
      this.hotSpans += spans.length;
    }
    this.schedulePump();
  }

  getStats(): FeederStats {
    return { ...this.stats };
  }

  /** Resolves once the store has confirmed everything durable in the log now. */
  whenStored(): Promise<void> {
    const offset = this.options.log.durableEnd;
    if (this.options.log.confirmedOffset >= offset) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ offset, resolve }));
  }

  /**
   * Waits up to `timeoutMs` for the store to take everything in the log, then stops feeding
   * (what is left unconfirmed is replayed at the next start). Resolves whether drained or not.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.whenStored().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.stopped = true;
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    return drained;
  }

  /** Coalesces wake-ups: the records of one group commit are offered in one turn and form one batch. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const { log, maxConcurrentInserts, maxBatchSpans } = this.options;
    while (!this.stopped && !this.reading && this.inflight.length < maxConcurrentInserts && this.readCursor < log.durableEnd) {
      while (this.hot.length > 0 && this.hot[0].end <= this.readCursor) this.hotSpans -= this.hot.shift()!.spans.length;
      const hotNext = this.hot.length > 0 && this.hot[0].start === this.readCursor;
      // While an insert runs, let a small batch grow: the store pays a fixed cost per insert.
      if (hotNext && this.inflight.length > 0 && this.hotSpans < maxBatchSpans / 4) break;
      if (hotNext) {
        const spans: SpanRow[] = [];
        while (
          this.hot.length > 0 &&
          this.hot[0].start === this.readCursor &&
          (spans.length === 0 || spans.length + this.hot[0].spans.length <= maxBatchSpans)
        ) {
          const record = this.hot.shift()!;
          this.hotSpans -= record.spans.length;
          for (const span of record.spans) spans.push(span);
          this.readCursor = record.end;
        }
        this.startBatch({ end: this.readCursor, spans, acknowledged: spans.length, done: false });
      } else {
        this.readBack(this.hot.length > 0 ? this.hot[0].start : log.durableEnd);
      }
    }
  }

  /** Reads records from the log (those not kept in memory) and starts a batch of them. */
  private readBack(upTo: number): void {
    this.reading = true;
    this.options.log
      .read(this.readCursor, upTo, this.options.maxBatchSpans)
      .then((records) => {
        const spans: SpanRow[] = [];
        let acknowledged = 0;
        for (const record of records) {
          acknowledged += record.spanCount;
          if (record.spanCount > 0 && !record.damaged) for (const span of this.options.spansOf(record)) spans.push(span);
        }
        this.readCursor = records.at(-1)!.end;
        this.startBatch({ end: this.readCursor, spans, acknowledged, done: false });
      })
      .catch((error: unknown) => {
        this.options.logger?.error({ err: error }, 'ingest log: reading records back failed; retrying');
        return new Promise((resolve) => setTimeout(resolve, this.options.maxRetryDelayMs));
      })
      .finally(() => {
        this.reading = false;
        this.schedulePump();
      });
  }

  private startBatch(batch: Batch): void {
    this.inflight.push(batch);
    void this.insert(batch).then(() => {
      batch.done = true;
      this.settle();
      this.schedulePump();
    });
  }

  /** Inserts until the store takes the batch (or the feeder stops). */
  private async insert(batch: Batch): Promise<void> {
    let delay = this.options.retryDelayMs;
    while (batch.spans.length > 0 && !this.stopped) {
      try {
        await this.options.store.insertSpans(batch.spans);
        if (this.stats.storeError !== null) {
          this.options.logger?.info('the span store takes spans again; feeding it from the ingest log');
          this.stats.storeError = null;
        }
        this.stats.batches++;
        return;
      } catch (error) {
        this.reportFailure(error);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, this.options.maxRetryDelayMs);
      }
    }
  }

  private reportFailure(error: unknown): void {
    this.stats.failedInserts++;
    const first = this.stats.storeError === null;
    this.stats.storeError = (error as Error).message ?? String(error);
    const now = Date.now();
    if (first || now - this.lastFailureReportMs >= FAILURE_REPORT_INTERVAL_MS) {
      this.lastFailureReportMs = now;
      this.options.logger?.warn({ err: error }, 'the span store refused spans; they stay in the ingest log and are retried');
    }
  }

  /** Confirms the committed prefix of the batches, in log order. */
  private settle(): void {
    if (this.stopped) return;
    while (this.inflight.length > 0 && this.inflight[0].done) {
      const batch = this.inflight.shift()!;
      this.stats.storedSpans += batch.spans.length;
      this.options.log.confirm(batch.end, batch.acknowledged);
      if (batch.spans.length > 0) this.notify(batch.spans);
    }
    const confirmed = this.options.log.confirmedOffset;
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.offset > confirmed) return true;
      waiter.resolve();
      return false;
    });
  }

  private notify(spans: SpanRow[]): void {
    const hook = this.options.onSpansStored;
    if (!hook) return;
    const report = (error: unknown) => this.options.logger?.error({ err: error }, 'onSpansStored hook failed');
    try {
      const result = hook(spans);
      if (result && typeof result.then === 'function') result.then(undefined, report);
    } catch (error) {
      report(error);
    }
  }
}
