/**
 * The feeder between the ingest log (real, in a temporary directory) and a store the test
 * controls: batches go in log order, an offset is confirmed only once every batch before it has
 * committed (inserts may finish out of order), `onSpansStored` hears of spans in log order,
 * a failing store is retried, and records that did not fit in memory are read back from disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpanRow } from '../model/span.js';
import { makeSpan } from '../../test/span-builders.js';
import { openIngestLog } from './log/ingest-log.js';
import { DEFAULT_FEEDING_OPTIONS, LogFeeder, type FeedingOptions } from './log-feeder.js';

const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A record's payload is its span ids, comma-separated; `spansOf` turns them back into spans. */
const spansOfPayload = (payload: Buffer) =>
  payload
    .toString()
    .split(',')
    .map((spanId) => makeSpan({ spanId }));

async function setup(store: { insertSpans: (spans: SpanRow[]) => Promise<void> }, options: Partial<FeedingOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'onceflow-feeder-'));
  dirs.push(dir);
  const log = await openIngestLog({ dir, spoolMaxBytes: 1 << 20, maxPayloadBytes: 1 << 16 });
  const stored: string[][] = [];
  const feeder = new LogFeeder({
    ...DEFAULT_FEEDING_OPTIONS,
    retryDelayMs: 1,
    maxRetryDelayMs: 5,
    ...options,
    log,
    store,
    spansOf: (record) => spansOfPayload(record.payload),
    onSpansStored: (spans) => void stored.push(spans.map((s) => s.spanId)),
  });
  feeder.start();
  cleanups.push(async () => {
    await feeder.stop(0);
    await log.close();
  });
  /** Appends a record of these span ids and offers it, as the receiver does. */
  const accept = async (ids: string[]) => {
    const appended = await log.append({
      payload: Buffer.from(ids.join(',')),
      receivedAtMs: Date.now(),
      spanCount: ids.length,
      encoding: 'json',
    });
    feeder.offer(appended, spansOfPayload(Buffer.from(ids.join(','))));
    return appended;
  };
  return { log, feeder, stored, accept };
}

/** A store whose inserts wait until the test releases them, in any order. */
function heldStore() {
  const inserts: { ids: string[]; release: () => void; fail: (error: Error) => void }[] = [];
  return {
    inserts,
    insertSpans: (spans: SpanRow[]) =>
      new Promise<void>((resolve, reject) => inserts.push({ ids: spans.map((s) => s.spanId), release: resolve, fail: reject })),
  };
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(condition()).toBe(true);
};

describe('LogFeeder', () => {
  it('confirms an offset only once every batch before it committed, and tells the indexer in log order', async () => {
    const store = heldStore();
    const { log, stored, accept } = await setup(store, { maxConcurrentInserts: 2 });
    const first = await accept(['a1', 'a2']);
    await until(() => store.inserts.length === 1);
    // The first insert runs; the second batch must be big enough to go while it does.
    const ids = Array.from({ length: DEFAULT_FEEDING_OPTIONS.maxBatchSpans / 4 }, (_, i) => `b${i}`);
    const second = await accept(ids);
    await until(() => store.inserts.length === 2);

    store.inserts[1].release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(log.confirmedOffset).toBe(0);
    expect(stored).toEqual([]);

    store.inserts[0].release();
    await until(() => log.confirmedOffset === second.end);
    expect(stored.map((batch) => batch[0])).toEqual(['a1', 'b0']);
    expect(first.end).toBe(second.start);
  });

  it('retries a failing store until it takes the batch', async () => {
    const store = heldStore();
    const { log, stored, feeder, accept } = await setup(store);
    const record = await accept(['x']);
    await until(() => store.inserts.length === 1);
    store.inserts[0].fail(new Error('store down'));
    await until(() => store.inserts.length === 2);
    expect(feeder.getStats().storeError).toBe('store down');
    expect(log.confirmedOffset).toBe(0);
    store.inserts[1].release();
    await until(() => log.confirmedOffset === record.end);
    expect(stored).toEqual([['x']]);
    expect(feeder.getStats()).toMatchObject({ storeError: null, failedInserts: 1, storedSpans: 1 });
  });

  it('reads back from disk the records it could not keep in memory, in log order', async () => {
    const store = heldStore();
    const { log, stored, accept } = await setup(store, { maxHotSpans: 2 });
    // While the first batch is inserting: three spans do not fit (limit two) and are read back
    // from disk; the next record fits again and is taken from memory after them.
    await accept(['h1', 'h2']);
    await until(() => store.inserts.length === 1);
    await accept(['d1', 'd2', 'd3']);
    const last = await accept(['h3']);
    store.inserts[0].release();
    await until(() => store.inserts.length === 2);
    expect(store.inserts[1].ids).toEqual(['d1', 'd2', 'd3']);
    store.inserts[1].release();
    await until(() => store.inserts.length === 3);
    store.inserts[2].release();
    await until(() => log.confirmedOffset === last.end);
    expect(stored).toEqual([['h1', 'h2'], ['d1', 'd2', 'd3'], ['h3']]);
  });

  it('whenStored resolves once the store holds everything durable at the time of the call', async () => {
    const store = heldStore();
    const { feeder, accept } = await setup(store);
    await accept(['w']);
    let resolved = false;
    void feeder.whenStored().then(() => (resolved = true));
    await until(() => store.inserts.length === 1);
    expect(resolved).toBe(false);
    store.inserts[0].release();
    await until(() => resolved);
  });
});
