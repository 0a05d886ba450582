/**
 * Groups the spans of concurrent OTLP requests into few `store.insertSpans` calls.
 *
 * Contract: the promise `submit(spans)` returns settles only after the batch holding those
 * spans is committed by the store (resolve) or failed (reject) — so the receiver's 200 is an
 * acknowledgement of durable storage. The queue is bounded: `submit` throws `QueueFullError`
 * synchronously rather than buffering without limit, and the receiver answers 503 with
 * Retry-After. One insert runs at a time (both stores favour few large inserts); while it
 * runs, new requests queue up and form the next batch.
 */
import type { SpanRow } from '../model/span.js';
import type { SpanStore } from '../store/span-store.js';

export interface WriteBatcherOptions {
  store: Pick<SpanStore, 'insertSpans'>;
  /** A batch closes once it holds this many spans (a larger single request forms its own batch). */
  maxBatchSpans: number;
  /** How long an idle batcher waits for more requests before inserting a non-full batch. */
  lingerMs: number;
  /** Spans queued (not yet inserting) beyond which `submit` refuses. */
  maxQueuedSpans: number;
  /** Told about every committed batch; errors it throws are reported to `onHookError`. */
  onSpansStored?: (spans: SpanRow[]) => void | Promise<void>;
  onHookError?: (error: unknown) => void;
}

export const DEFAULT_BATCHER_OPTIONS = {
  maxBatchSpans: 20_000,
  lingerMs: 5,
  maxQueuedSpans: 200_000,
} as const;

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
  private running: Promise<void> | null = null;
  private closed = false;
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
    this.running ??= this.drain();
    return done;
  }

  getStats(): BatcherStats {
    return { queuedSpans: this.queuedSpans, ...this.stats };
  }

  /** Refuses new spans, then waits until everything already accepted has been inserted. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      // Linger only when waking from idle: under load, what queued during one insert already
      // forms the next batch, and waiting would only add latency.
      if (this.queuedSpans < this.options.maxBatchSpans && this.options.lingerMs > 0 && !this.closed) {
        await new Promise((resolve) => setTimeout(resolve, this.options.lingerMs));
      }
      while (this.queue.length > 0) await this.insertBatch(this.takeBatch());
    } finally {
      this.running = null;
    }
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
