/**
 * Groups the spans of concurrent OTLP requests into few `store.insertSpans` calls.
 *
 * Contract: the promise `submit(spans)` returns settles only after the batch holding those
 * spans is committed by the store (resolve) or failed (reject) — so the receiver's 200 is an
 * acknowledgement of durable storage. The queue is bounded: `submit` throws `QueueFullError`
 * synchronously rather than buffering without limit, and the receiver answers 503 with
 * Retry-After. At most `maxConcurrentInserts` inserts run at once; while they run, new
 * requests queue up and form the next batch.
 */
import type { SpanRow } from '../model/span.js';
import type { SpanStore } from '../store/span-store.js';

export interface BatchingOptions {
  /** A batch closes once it holds this many spans (a larger single request forms its own batch). */
  maxBatchSpans: number;
  /** How long a free insert slot waits for more requests before inserting a non-full batch. */
  lingerMs: number;
  /**
   * While requests are still arriving or being decoded (`incomingSubmissions`), the linger is
   * extended in `lingerMs` steps up to this total, so that under load the requests clients
   * have in flight form one large insert rather than several small ones.
   */
  maxLingerMs: number;
  /** Spans queued (not yet inserting) beyond which `submit` refuses. */
  maxQueuedSpans: number;
  /**
   * Inserts in flight at once. Above 1, the next batch reaches the store while the previous
   * one is still being written, but batches get smaller. The receiver takes the store's
   * `insertConcurrency` (ClickHouse pays a fixed cost per insert and keeps 1; DuckDB appends
   * the next batch on the Node thread while the previous one commits on its own threads).
   */
  maxConcurrentInserts: number;
}

export interface WriteBatcherOptions extends BatchingOptions {
  store: Pick<SpanStore, 'insertSpans'>;
  /** Told about every committed batch; errors it throws are reported to `onHookError`. */
  onSpansStored?: (spans: SpanRow[]) => void | Promise<void>;
  onHookError?: (error: unknown) => void;
  /** Requests that will submit soon (received, not yet decoded); 0 when unknown. */
  incomingSubmissions?: () => number;
}

export const DEFAULT_BATCHER_OPTIONS: BatchingOptions = {
  maxBatchSpans: 20_000,
  lingerMs: 5,
  maxLingerMs: 50,
  maxQueuedSpans: 200_000,
  maxConcurrentInserts: 1,
};

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

export class BatcherClosedError extends Error {
  override readonly name = 'BatcherClosedError';
}

interface Pending {
  spans: SpanRow[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface BatcherStats {
  queuedSpans: number;
  batches: number;
  storedSpans: number;
  failedBatches: number;
}

export class WriteBatcher {
  private readonly queue: Pending[] = [];
  private queuedSpans = 0;
  private inserting = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly stats = { batches: 0, storedSpans: 0, failedBatches: 0 };

  constructor(private readonly options: WriteBatcherOptions) {}

  /** Resolves once these spans are committed; throws QueueFullError / BatcherClosedError at once. */
  submit(spans: SpanRow[]): Promise<void> {
    if (this.closed) throw new BatcherClosedError('the collector is shutting down');
    if (spans.length === 0) return Promise.resolve();
    if (this.queuedSpans > 0 && this.queuedSpans + spans.length > this.options.maxQueuedSpans) {
      throw new QueueFullError(`write queue full (${this.queuedSpans} spans waiting for the store)`);
    }
    const done = new Promise<void>((resolve, reject) => this.queue.push({ spans, resolve, reject }));
    this.queuedSpans += spans.length;
    this.schedule();
    return done;
  }

  getStats(): BatcherStats {
    return { queuedSpans: this.queuedSpans, ...this.stats };
  }

  /** Refuses new spans, then waits until everything already accepted has been inserted. */
  async close(): Promise<void> {
    this.closed = true;
    this.schedule();
    if (this.queue.length === 0 && this.inserting === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Starts inserts while a slot is free: at once when a full batch is queued (or closing),
   * otherwise after lingering `lingerMs` for more requests to join.
   */
  private schedule(): void {
    while (this.queue.length > 0 && this.inserting < this.options.maxConcurrentInserts) {
      const full = this.queuedSpans >= this.options.maxBatchSpans;
      if (!full && !this.closed && this.options.lingerMs > 0) {
        if (!this.lingerTimer) this.linger(performance.now());
        return;
      }
      this.startInsert();
    }
    if (this.queue.length === 0 && this.inserting === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private linger(since: number): void {
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      const incoming = this.options.incomingSubmissions?.() ?? 0;
      const lingered = performance.now() - since;
      if (incoming > 0 && !this.closed && this.queuedSpans < this.options.maxBatchSpans && lingered < this.options.maxLingerMs) {
        this.linger(since);
      } else {
        this.flushQueued();
      }
    }, this.options.lingerMs);
  }

  /** The linger ended: insert what is queued, full batch or not. */
  private flushQueued(): void {
    while (this.queue.length > 0 && this.inserting < this.options.maxConcurrentInserts) this.startInsert();
  }

  private startInsert(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    const batch = this.takeBatch();
    this.inserting++;
    void this.insertBatch(batch).finally(() => {
      this.inserting--;
      this.schedule();
    });
  }

  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let size = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (batch.length > 0 && size + next.spans.length > this.options.maxBatchSpans) break;
      batch.push(this.queue.shift()!);
      size += next.spans.length;
    }
    this.queuedSpans -= size;
    return batch;
  }

  private async insertBatch(batch: Pending[]): Promise<void> {
    const spans = batch.length === 1 ? batch[0].spans : batch.flatMap((p) => p.spans);
    try {
      await this.options.store.insertSpans(spans);
    } catch (error) {
      this.stats.failedBatches++;
      for (const pending of batch) pending.reject(error);
      return;
    }
    this.stats.batches++;
    this.stats.storedSpans += spans.length;
    for (const pending of batch) pending.resolve();
    this.notify(spans);
  }

  private notify(spans: SpanRow[]): void {
    const hook = this.options.onSpansStored;
    if (!hook) return;
    try {
      const result = hook(spans);
      if (result && typeof result.then === 'function') result.then(undefined, (error) => this.reportHookError(error));
    } catch (error) {
      this.reportHookError(error);
    }
  }

  private reportHookError(error: unknown): void {
    try {
      this.options.onHookError?.(error);
    } catch {
      // A failing error reporter must not break ingest either.
    }
  }
}
