import { describe, expect, it } from 'vitest';
import type { SpanRow } from '../model/span.js';
import { BatcherClosedError, QueueFullError, WriteBatcher } from './write-batcher.js';

/** A store that records inserts and commits each one only when the test releases it. */
class GatedStore {
  readonly inserts: string[][] = [];
  private gates: { release: () => void; fail: (error: Error) => void }[] = [];
  autoCommit = false;

  insertSpans(spans: SpanRow[]): Promise<void> {
    this.inserts.push(spans.map((s) => s.spanId));
    if (this.autoCommit) return Promise.resolve();
    return new Promise((resolve, reject) => this.gates.push({ release: resolve, fail: reject }));
  }

  /** Waits until `count` inserts have started. */
  async started(count: number): Promise<void> {
    while (this.inserts.length < count) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  commitNext(): void {
    this.gates.shift()!.release();
  }

  failNext(error: Error): void {
    this.gates.shift()!.fail(error);
  }
}

function spans(prefix: string, count: number): SpanRow[] {
  return Array.from({ length: count }, (_, i) => ({ spanId: `${prefix}${i}` }) as SpanRow);
}

function settledState(promise: Promise<unknown>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const box: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (box.state = 'resolved'),
    (error) => {
      box.state = 'rejected';
      box.error = error;
    },
  );
  return box;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('WriteBatcher', () => {
  it('groups concurrent submissions into one insert and acknowledges only after the commit', async () => {
    const store = new GatedStore();
    const batcher = new WriteBatcher({ store, maxLingerMs: 0, maxBatchSpans: 100, lingerMs: 5, maxQueuedSpans: 1000, maxConcurrentInserts: 1 });
    const a = settledState(batcher.submit(spans('a', 2)));
    const b = settledState(batcher.submit(spans('b', 3)));
    await store.started(1);
    expect(store.inserts).toEqual([['a0', 'a1', 'b0', 'b1', 'b2']]);
    await flush();
    expect([a.state, b.state]).toEqual(['pending', 'pending']);
    store.commitNext();
    await flush();
    expect([a.state, b.state]).toEqual(['resolved', 'resolved']);
  });

  it('queues what arrives during an insert as the next batch, bounded by maxBatchSpans', async () => {
    const store = new GatedStore();
    const batcher = new WriteBatcher({ store, maxLingerMs: 0, maxBatchSpans: 5, lingerMs: 0, maxQueuedSpans: 1000, maxConcurrentInserts: 1 });
    const first = settledState(batcher.submit(spans('a', 2)));
    await store.started(1);
    const second = settledState(batcher.submit(spans('b', 3)));
    const third = settledState(batcher.submit(spans('c', 3)));
    store.commitNext();
    await store.started(2);
    expect(first.state).toBe('resolved');
    // b fits with nothing else under the bound of 5; c goes in the batch after.
    expect(store.inserts[1]).toEqual(['b0', 'b1', 'b2']);
    expect(second.state).toBe('pending');
    store.commitNext();
    await store.started(3);
    expect(store.inserts[2]).toEqual(['c0', 'c1', 'c2']);
    expect(second.state).toBe('resolved');
    expect(third.state).toBe('pending');
    store.commitNext();
    await flush();
    expect(third.state).toBe('resolved');
  });

  it('with two insert slots, sends the next batch while the previous one is still being written', async () => {
    const store = new GatedStore();
    const batcher = new WriteBatcher({ store, maxLingerMs: 0, maxBatchSpans: 2, lingerMs: 0, maxQueuedSpans: 1000, maxConcurrentInserts: 2 });
    const a = settledState(batcher.submit(spans('a', 2)));
    const b = settledState(batcher.submit(spans('b', 2)));
    const c = settledState(batcher.submit(spans('c', 2)));
    await store.started(2);
    await flush();
    expect(store.inserts).toEqual([['a0', 'a1'], ['b0', 'b1']]);
    // The third batch waits for a free slot.
    store.commitNext();
    await store.started(3);
    expect(store.inserts[2]).toEqual(['c0', 'c1']);
    await flush();
    expect([a.state, b.state, c.state]).toEqual(['resolved', 'pending', 'pending']);
    store.commitNext();
    store.commitNext();
    await flush();
    expect([b.state, c.state]).toEqual(['resolved', 'resolved']);
  });

  it('keeps lingering while requests are still incoming, up to maxLingerMs', async () => {
    const store = new GatedStore();
    store.autoCommit = true;
    let incoming = 2;
    const batcher = new WriteBatcher({
      store,
      maxBatchSpans: 100,
      lingerMs: 2,
      maxLingerMs: 10_000,
      maxQueuedSpans: 1000,
      maxConcurrentInserts: 1,
      incomingSubmissions: () => incoming,
    });
    const a = batcher.submit(spans('a', 1));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(store.inserts).toEqual([]);
    incoming = 1;
    const b = batcher.submit(spans('b', 1));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(store.inserts).toEqual([]);
    incoming = 0;
    await Promise.all([a, b]);
    expect(store.inserts).toEqual([['a0', 'b0']]);
  });

  it('stops lingering at maxLingerMs even if requests keep coming', async () => {
    const store = new GatedStore();
    store.autoCommit = true;
    const batcher = new WriteBatcher({
      store,
      maxBatchSpans: 100,
      lingerMs: 2,
      maxLingerMs: 20,
      maxQueuedSpans: 1000,
      maxConcurrentInserts: 1,
      incomingSubmissions: () => 5,
    });
    await batcher.submit(spans('a', 1));
    expect(store.inserts).toEqual([['a0']]);
  });

  it('lets a single request larger than a batch through as its own batch', async () => {
    const store = new GatedStore();
    store.autoCommit = true;
    const batcher = new WriteBatcher({ store, maxLingerMs: 0, maxBatchSpans: 2, lingerMs: 0, maxQueuedSpans: 1000, maxConcurrentInserts: 1 });
    await batcher.submit(spans('a', 7));
    expect(store.inserts).toEqual([spans('a', 7).map((s) => s.spanId)]);
  });

  it('refuses submissions beyond the queue bound synchronously', async () => {
    const store = new GatedStore();
    const batcher = new WriteBatcher({ store, maxLingerMs: 0, maxBatchSpans: 100, lingerMs: 0, maxQueuedSpans: 5, maxConcurrentInserts: 1 });
    const inflight = batcher.submit(spans('a', 4));
    await store.started(1);
    // The inserting batch no longer counts as queued.
    const queued = batcher.submit(spans('b', 4));
    expect(() => batcher.submit(spans('c', 2))).toThrow(QueueFullError);
    expect(batcher.getStats().queuedSpans).toBe(4);
    store.commitNext();
    await inflight;
    await store.started(2);
    store.commitNext();
    await queued;
    expect(store.inserts.flat()).not.toContain('c0');
  });

  it('rejects every request of a batch the store fails, and carries on with the next batch', async () => {
    const store = new GatedStore();
    const batcher = new WriteBatcher({ store, maxLingerMs: 0, maxBatchSpans: 100, lingerMs: 5, maxQueuedSpans: 1000, maxConcurrentInserts: 1 });
    const a = settledState(batcher.submit(spans('a', 1)));
    const b = settledState(batcher.submit(spans('b', 1)));
    await store.started(1);
    store.failNext(new Error('disk full'));
    await flush();
    expect([a.state, b.state]).toEqual(['rejected', 'rejected']);
    expect((a.error as Error).message).toBe('disk full');
    const c = batcher.submit(spans('c', 1));
    await store.started(2);
    store.commitNext();
    await expect(c).resolves.toBeUndefined();
    expect(batcher.getStats()).toMatchObject({ batches: 1, failedBatches: 1, storedSpans: 1 });
  });

  it('tells onSpansStored about each committed batch, and survives a hook that throws', async () => {
    const store = new GatedStore();
    store.autoCommit = true;
    const seen: string[][] = [];
    const hookErrors: unknown[] = [];
    const batcher = new WriteBatcher({
      store,
      maxLingerMs: 0,
      maxBatchSpans: 100,
      lingerMs: 0,
      maxQueuedSpans: 1000,
      maxConcurrentInserts: 1,
      onSpansStored: (stored) => {
        seen.push(stored.map((s) => s.spanId));
        throw new Error('indexer broke');
      },
      onHookError: (error) => hookErrors.push(error),
    });
    await batcher.submit(spans('a', 2));
    await batcher.submit(spans('b', 1));
    expect(seen).toEqual([['a0', 'a1'], ['b0']]);
    expect(hookErrors).toHaveLength(2);
  });

  it('on close, inserts everything accepted and refuses anything new', async () => {
    const store = new GatedStore();
    const batcher = new WriteBatcher({ store, maxLingerMs: 0, maxBatchSpans: 2, lingerMs: 1000, maxQueuedSpans: 1000, maxConcurrentInserts: 1 });
    const a = settledState(batcher.submit(spans('a', 2)));
    const b = settledState(batcher.submit(spans('b', 2)));
    const closing = settledState(batcher.close());
    expect(() => batcher.submit(spans('c', 1))).toThrow(BatcherClosedError);
    await store.started(1);
    store.commitNext();
    await store.started(2);
    expect(closing.state).toBe('pending');
    store.commitNext();
    await flush();
    expect([a.state, b.state, closing.state]).toEqual(['resolved', 'resolved', 'resolved']);
    expect(store.inserts).toEqual([['a0', 'a1'], ['b0', 'b1']]);
  });
});
