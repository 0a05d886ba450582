/**
 * ClickHouse stopped in the middle of a steady export, then started again: the collector
 * keeps acknowledging from its ingest log, and afterwards ClickHouse holds every acknowledged
 * span exactly once. Runs on a private clickhouse-server (own ports and data directory) —
 * never the shared one.
 *
 *   exporters: ──200──200──200──────────200──200──────────200──200──200──►
 *   ClickHouse:   up  │ stopped for OUTAGE s (log grows) │ up again: the feeder drains the log
 *
 * OUTAGE: ONCEFLOW_FAULT_OUTAGE_SECONDS (10 in CI; `npm run faults:ingest` runs 60).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { requireServer } from '@onceflow/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from '../app.js';
import { DEFAULT_CONFIG } from '../config.js';
import { silentLogger } from '../logger.js';
import { createPrivateClickHouse, probeClickHouseBinary, type PrivateClickHouse } from '../../test/ingest/private-clickhouse.js';
import { newTally, runExporters } from '../../test/ingest/span-load.js';

const OUTAGE_SECONDS = Number(process.env.ONCEFLOW_FAULT_OUTAGE_SECONDS ?? 10);
const available = await requireServer('clickhouse-server binary', probeClickHouseBinary);
const dataDir = mkdtempSync(join(tmpdir(), 'onceflow-outage-'));
let clickhouse: PrivateClickHouse | null = null;
let collector: RunningCollector | null = null;

afterAll(async () => {
  await collector?.close();
  await clickhouse?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!available)('ClickHouse outage during a steady export', () => {
  it(
    `acknowledges throughout a ${OUTAGE_SECONDS} s outage and stores every acknowledged span once`,
    { timeout: (OUTAGE_SECONDS + 150) * 1000 },
    async () => {
      clickhouse = await createPrivateClickHouse();
      await clickhouse.start();
      collector = await startCollector(
        { ...DEFAULT_CONFIG, port: 0, otlpPort: 0, dataDir, clickhouseUrl: clickhouse.url, retentionMs: 0 },
        { logger: silentLogger() },
      );
      const running = collector;
      const tally = newTally();
      let stopped = false;
      const exporting = runExporters({
        otlpUrl: running.otlpUrl,
        concurrency: 2,
        spansPerRequest: 20,
        pauseMs: 50,
        stop: () => stopped,
        tally,
      });

      await sleep(2_000);
      await clickhouse.stop();
      const duringOutage = tally.acknowledged.length;
      await sleep(OUTAGE_SECONDS * 1000);
      const acknowledgedInOutage = tally.acknowledged.length - duringOutage;
      const lagAtRestart = (await (await fetch(`${running.apiUrl}/api/health`)).json()) as {
        ingest: { lagSpans: number; behind: boolean };
      };
      await clickhouse.start();
      await sleep(2_000);
      stopped = true;
      await exporting;

      for (let i = 0; i < 1200; i++) {
        const { ingest } = (await (await fetch(`${running.apiUrl}/api/health`)).json()) as { ingest: { lagSpans: number } };
        if (ingest.lagSpans === 0) break;
        await sleep(100);
      }
      await running.close();
      collector = null;

      const acknowledgedSpans = tally.acknowledged.reduce((sum, trace) => sum + trace.spanIds.length, 0);
      const client = createClient({ url: clickhouse.url });
      try {
        const count = async (sql: string) =>
          Number(((await (await client.query({ query: sql, format: 'JSONEachRow' })).json()) as { n: string }[])[0].n);
        const final = await count('SELECT count() AS n FROM onceflow.spans FINAL');
        const raw = await count('SELECT count() AS n FROM onceflow.spans');
        console.log(
          `ClickHouse outage ${OUTAGE_SECONDS} s: ${tally.acknowledged.length} requests (${acknowledgedSpans} spans) acknowledged, ` +
            `${acknowledgedInOutage} of them while it was down; store lag at restart ${lagAtRestart.ingest.lagSpans} spans; ` +
            `rows ${raw} (${final} after FINAL); answers ${JSON.stringify([...tally.statuses])}`,
        );
        expect([...tally.statuses.keys()]).toEqual([200]);
        expect(tally.connectionErrors).toBe(0);
        expect(acknowledgedInOutage).toBeGreaterThan(OUTAGE_SECONDS * 5);
        expect(lagAtRestart.ingest.lagSpans).toBeGreaterThan(0);
        expect(lagAtRestart.ingest.behind).toBe(true);
        expect(final).toBe(acknowledgedSpans);
        // Every acknowledged (trace, span) id present, each once (before merges, so a retried insert would show).
        const rows = (await (
          await client.query({ query: 'SELECT trace_id AS t, span_id AS s FROM onceflow.spans', format: 'JSONEachRow' })
        ).json()) as { t: string; s: string }[];
        const stored = new Map<string, number>();
        for (const { t, s: span } of rows) stored.set(`${t}/${span}`, (stored.get(`${t}/${span}`) ?? 0) + 1);
        const wrong = tally.acknowledged
          .flatMap((trace) => trace.spanIds.map((span) => `${trace.traceId}/${span}`))
          .filter((key) => stored.get(key) !== 1);
        expect(wrong).toEqual([]);
      } finally {
        await client.close();
      }
    },
  );
});
