/**
 * The embedded store: the shared conformance suite in memory, plus what only a file-backed
 * store can show (committed data survives close and reopen).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_FLOWS, ALL_SPANS, FLOW_2, SPANS } from '../../../test/fixtures/store-fixtures.js';
import { runSpanStoreConformance } from '../../../test/store/conformance.js';
import { createSpanStore } from '../create-store.js';
import { DUCKDB_FILE_NAME, DuckDbStore } from './duckdb-store.js';
import { syntheticSpans } from '../../../test/store/synthetic-spans.js';
import { attempt } from '../../../test/span-builders.js';

runSpanStoreConformance('DuckDB in memory', async () => new DuckDbStore({ path: ':memory:' }));

/** Runs statements on a closed store's file directly (to make it look like an older file). */
async function onFile(dir: string, ...statements: string[]): Promise<void> {
  const instance = await DuckDBInstance.create(join(dir, DUCKDB_FILE_NAME));
  const connection = await instance.connect();
  for (const statement of statements) await connection.run(statement);
  connection.closeSync();
  instance.closeSync();
}

describe('DuckDbStore on a file', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'onceflow-duckdb-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps what was committed across close and reopen', async () => {
    const first = await createSpanStore({ dataDir: join(dataDir, 'nested') });
    expect(first.kind).toBe('duckdb');
    await first.insertSpans(ALL_SPANS);
    await first.saveFlows(ALL_FLOWS);
    await first.close();

    const second = new DuckDbStore({ dataDir: join(dataDir, 'nested') });
    expect(second.path).toBe(join(dataDir, 'nested', DUCKDB_FILE_NAME));
    await second.init();
    expect(await second.spanCount()).toBe(ALL_SPANS.length);
    expect(await second.spansOfMessage('m-2', 10)).toEqual([
      SPANS.c1OrdersM1,
      SPANS.c1SendM2,
      SPANS.c1BillingM2,
      SPANS.c1MarketingM2,
      SPANS.c1BillingM2Dup,
    ]);
    expect(await second.getFlowRecord('conv-2')).toEqual(FLOW_2);
    // Re-inserting after reopen is still idempotent (the primary key index was persisted).
    await second.insertSpans(ALL_SPANS);
    expect(await second.spanCount()).toBe(ALL_SPANS.length);
    await second.close();
  });

  it('keeps every span acknowledged before the process was killed', async () => {
    const dir = join(dataDir, 'killed');
    const count = 3000;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../../../test/store/insert-then-die.ts', import.meta.url)), dir, String(count)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(stdout).toBe('committed\n');
    expect(signal).toBe('SIGKILL');

    const store = new DuckDbStore({ dataDir: dir });
    await store.init();
    expect(await store.spanCount()).toBe(count);
    const [first] = syntheticSpans(1);
    expect(await store.spansOfTrace(first.traceId, 10)).toEqual(syntheticSpans(8));
    await store.close();
  });

  it('keeps accepting batches after many retried (duplicate) batches', async () => {
    // A failed appender must not flush its rows later into another transaction.
    const store = new DuckDbStore({ path: ':memory:' });
    await store.init();
    await store.insertSpans(ALL_SPANS);
    for (let round = 0; round < 30; round++) {
      await store.insertSpans(ALL_SPANS);
      await store.insertSpans([{ ...SPANS.healthCheck, spanId: (0xab00 + round).toString(16).padStart(16, '0') }]);
    }
    expect(await store.spanCount()).toBe(ALL_SPANS.length + 30);
    await store.close();
  });

  it('stores each span once when overlapping batches are inserted concurrently', async () => {
    // Inserts run on two connections at once; a span both try to add must end up stored once
    // and neither insert may fail (an exporter retry racing the original request).
    const store = new DuckDbStore({ path: ':memory:' });
    await store.init();
    const spans = syntheticSpans(3000, 0, 7);
    const results = await Promise.allSettled([
      store.insertSpans(spans),
      store.insertSpans(spans),
      store.insertSpans(spans.slice(100, 2000)),
      store.insertSpans(spans.slice(2500)),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(await store.spanCount()).toBe(3000);
    await store.close();
  });

  it('stores strings with NUL and lone surrogates without failing the batch', async () => {
    const store = new DuckDbStore({ path: ':memory:' });
    await store.init();
    const odd = { ...SPANS.healthCheck, name: 'GET /a\u0000b', statusMessage: 'x\ud800y', attributes: { k: '\udc00' } };
    await store.insertSpans([odd, SPANS.c1Http]);
    const [stored] = await store.spansOfTrace(odd.traceId, 10);
    expect(stored.name).toBe('GET /a\u0000b');
    expect(stored.statusMessage).toBe('x\ufffdy');
    expect(stored.attributes).toEqual({ k: '\udc00' });
    expect(await store.spanCount()).toBe(2);
    await store.close();
  });

  it('stores a NUL-holding string that every span of a chunk shares (constant column)', async () => {
    const store = new DuckDbStore({ path: ':memory:' });
    await store.init();
    const a = { ...SPANS.healthCheck, name: 'GET /a\u0000b', statusMessage: 'x\u0000' };
    const b = { ...a, spanId: 'ab00000000000001' };
    await store.insertSpans([a, b]);
    const stored = await store.spansOfTrace(a.traceId, 10);
    expect(stored.map((s) => [s.name, s.statusMessage])).toEqual([
      ['GET /a\u0000b', 'x\u0000'],
      ['GET /a\u0000b', 'x\u0000'],
    ]);
    await store.close();
  });

  it('round-trips batches spanning several 2048-row chunks, constant and varying columns alike', async () => {
    const store = new DuckDbStore({ path: ':memory:' });
    await store.init();
    const spans = syntheticSpans(4500).map((span, k) =>
      k >= 4096
        ? {
            ...span,
            statusMessage: `late ${k}`,
            attempt: 2,
            payloadBytes: k,
            payloadOffloaded: true,
            links: [{ traceId: span.traceId, spanId: span.spanId, attributes: { k: 'v' } }],
          }
        : span,
    );
    await store.insertSpans(spans);
    expect(await store.spanCount()).toBe(4500);
    for (const k of [0, 2047, 2048, 4095, 4096, 4496]) {
      const trace = spans.filter((s) => s.traceId === spans[k].traceId);
      expect(await store.spansOfTrace(spans[k].traceId, 100)).toEqual(trace);
    }
    await store.close();
  });

  it("finds a business key's spans before the rollup indexed them, after, and in a file indexed before the index existed", async () => {
    const dir = join(dataDir, 'business-keys');
    const keyed = (i: number, conversationId: string) =>
      attempt({
        service: 'billing',
        messageId: `bk-${i}`,
        messageType: 'OrderPlaced',
        atMs: Date.UTC(2026, 0, 5, 9, 0, i),
        outcome: 'processed',
        conversationId,
        businessKey: 'order-77',
      });
    const spans = [keyed(1, 'conv-bk-a'), keyed(2, 'conv-bk-b'), keyed(3, 'conv-bk-c')];
    const other = attempt({
      service: 'billing',
      messageId: 'bk-x',
      messageType: 'OrderPlaced',
      atMs: Date.UTC(2026, 0, 5, 9, 0, 4),
      conversationId: 'conv-bk-a',
      businessKey: 'order-78',
    });
    const ofKey = async (from: DuckDbStore, key: string, limit: number) => (await from.spansOfBusinessKeys([key], limit)).get(key);
    const store = new DuckDbStore({ dataDir: dir });
    await store.init();
    await store.insertSpans([...spans, other]);
    // Not rolled up yet: found by the scan of the newest spans.
    expect(await ofKey(store, 'order-77', 10)).toEqual(spans);
    const both = async (except?: string) => Object.fromEntries(await store.spansOfBusinessKeys(['order-77', 'order-78'], 10, except));
    const beforeRollup = await both('conv-bk-a');
    expect(beforeRollup).toEqual({ 'order-77': spans.slice(1), 'order-78': [] });
    // A trends read rolls up first: now found through the index.
    await store.spanBuckets({ fromMs: 0, toMs: Date.UTC(2027, 0, 1) }, 60_000, 'service');
    expect(await ofKey(store, 'order-77', 10)).toEqual(spans);
    expect(await ofKey(store, 'order-77', 2)).toEqual(spans.slice(0, 2));
    expect(await both('conv-bk-a')).toEqual(beforeRollup);
    expect(await both()).toEqual({ 'order-77': spans, 'order-78': [other] });
    await store.close();

    // A file rolled up before the index existed: opening it indexes what was rolled up.
    await onFile(dir, 'DROP TABLE business_keys', 'DROP TABLE store_migrations');
    const reopened = new DuckDbStore({ dataDir: dir });
    await reopened.init();
    expect(await ofKey(reopened, 'order-77', 10)).toEqual(spans);
    expect(await ofKey(reopened, 'order-78', 10)).toEqual([other]);
    await reopened.close();

    // Once done, never again: with the index emptied, an open does not scan the spans to refill it.
    await onFile(dir, 'DELETE FROM business_keys');
    const again = new DuckDbStore({ dataDir: dir });
    await again.init();
    expect(await ofKey(again, 'order-77', 10)).toEqual([]);
    await again.close();
  });

  it('refuses to work after close', async () => {
    const store = new DuckDbStore({ path: ':memory:' });
    await store.init();
    await store.close();
    await expect(store.spanCount()).rejects.toThrow(/not open/);
    await expect(store.insertSpans(ALL_SPANS)).rejects.toThrow(/not open/);
  });

  it('refuses a file whose spans predate ingest_seq, saying what to do, and leaves it as it was', async () => {
    const dir = join(dataDir, 'old');
    mkdirSync(dir);
    const instance = await DuckDBInstance.create(join(dir, DUCKDB_FILE_NAME));
    const connection = await instance.connect();
    await connection.run('CREATE TABLE spans (trace_id VARCHAR, span_id VARCHAR, PRIMARY KEY (trace_id, span_id))');
    await connection.run(`INSERT INTO spans VALUES ('t', 's')`);
    connection.closeSync();
    instance.closeSync();

    await expect(new DuckDbStore({ dataDir: dir }).init()).rejects.toThrow(/older Onceflow.*move it away/);
    const reopened = await DuckDBInstance.create(join(dir, DUCKDB_FILE_NAME));
    const check = await reopened.connect();
    const tables = (await check.runAndReadAll('SELECT table_name FROM duckdb_tables() ORDER BY 1')).getRowObjectsJS();
    expect(tables.map((row) => row.table_name)).toEqual(['spans']);
    check.closeSync();
    reopened.closeSync();
  });
});
