/**
 * `kill -9` of the real collector process (`onceflow serve`, embedded DuckDB) at random
 * points, many rounds on one data directory:
 *
 *   round:  start ──► exporters post traces ──► SIGKILL at a random moment
 *           (every other round the kill comes right after start, while the collector is still
 *            feeding the store what the previous, killed one had acknowledged)
 *   end:    start once more ──► wait until /api/health says the store holds everything ──► stop
 *           ──► every trace that got a 200 in any round is in the store, each span once
 *
 * Rounds: ONCEFLOW_FAULT_KILL_ROUNDS (default 20).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { startCollectorProcess, type CollectorProcess } from '../../test/ingest/collector-process.js';
import { missingOrDoubled, newTally, runExporters } from '../../test/ingest/span-load.js';

const ROUNDS = Number(process.env.ONCEFLOW_FAULT_KILL_ROUNDS ?? 20);
const dataDir = mkdtempSync(join(tmpdir(), 'onceflow-kill9-'));
let running: CollectorProcess | null = null;

afterAll(async () => {
  await running?.kill9();
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function health(collector: CollectorProcess): Promise<{ ingest: { lagSpans: number } }> {
  return (await (await fetch(`${collector.apiUrl}/api/health`)).json()) as { ingest: { lagSpans: number } };
}

describe('kill -9 during ingest and replay', () => {
  it(`keeps every acknowledged span, once, over ${ROUNDS} kills`, { timeout: 240_000 }, async () => {
    const tally = newTally();
    let replayRounds = 0;
    for (let round = 0; round < ROUNDS; round++) {
      running = await startCollectorProcess(['--data', dataDir, '--log-level', 'info']);
      if (running.stdout().includes('feeding the store')) replayRounds++;
      const collector = running;
      const killDuringReplay = round % 2 === 1;
      const killAfterMs = killDuringReplay ? Math.random() * 50 : 100 + Math.random() * 700;
      let stopped = false;
      const exporting = killDuringReplay
        ? Promise.resolve()
        : runExporters({ otlpUrl: collector.otlpUrl, concurrency: 6, spansPerRequest: 200, stop: () => stopped, tally });
      await sleep(killAfterMs);
      await collector.kill9();
      stopped = true;
      await exporting;
      running = null;
    }

    running = await startCollectorProcess(['--data', dataDir, '--log-level', 'info']);
    for (let i = 0; i < 600 && (await health(running)).ingest.lagSpans > 0; i++) await sleep(100);
    expect((await health(running)).ingest.lagSpans).toBe(0);
    expect(await running.stop()).toBe(0);
    running = null;

    const store = new DuckDbStore({ dataDir });
    await store.init();
    try {
      const acknowledgedSpans = tally.acknowledged.reduce((sum, trace) => sum + trace.spanIds.length, 0);
      console.log(
        `kill -9: ${ROUNDS} rounds, ${tally.acknowledged.length} requests (${acknowledgedSpans} spans) acknowledged, ` +
          `${tally.connectionErrors} cut by the kill, ${replayRounds} starts replayed a log the killed collector left unconfirmed`,
      );
      expect(tally.acknowledged.length).toBeGreaterThan(ROUNDS);
      expect(await missingOrDoubled(store, tally.acknowledged)).toEqual([]);
      expect(await store.spanCount()).toBeGreaterThanOrEqual(acknowledgedSpans);
      expect([...tally.statuses.keys()].filter((status) => status !== 200 && status !== 503)).toEqual([]);
      expect(replayRounds).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});
