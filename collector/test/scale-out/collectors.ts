/**
 * In-process collectors on ClickHouse for the scale-out tests (two collectors on one database,
 * collectors on a cluster's nodes): start one, post spans to it as an exporter would, wait until
 * it has stored and analysed them, and read what it ends with.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startCollector, type RunningCollector } from '../../src/app.js';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import type { FlowRecord } from '../../src/model/flow.js';
import type { SpanRow } from '../../src/model/span.js';
import { buildProtobufBody } from '../../src/otlp/request-builder.js';
import type { TimeWindow } from '../../src/store/span-store.js';
import { resourceSpecs } from './span-rows-to-otlp.js';

/** Collectors started here and their data directories, for `closeCollectors`. */
export interface CollectorPool {
  running: RunningCollector[];
  dirs: string[];
}

export const newCollectorPool = (): CollectorPool => ({ running: [], dirs: [] });

export async function closeCollectors(pool: CollectorPool): Promise<void> {
  for (const collector of pool.running) await collector.close();
  for (const dir of pool.dirs) rmSync(dir, { recursive: true, force: true });
}

/** A collector with its own data directory (ingest log) on `database` at `url` (of a `cluster` when given). */
export async function startClickHouseCollector(
  pool: CollectorPool,
  store: { url: string; database: string; cluster?: string },
): Promise<RunningCollector> {
  const dataDir = mkdtempSync(join(tmpdir(), 'onceflow-scale-out-'));
  pool.dirs.push(dataDir);
  const collector = await startCollector(
    {
      ...DEFAULT_CONFIG,
      port: 0,
      otlpPort: 0,
      dataDir,
      clickhouseUrl: store.url,
      clickhouseDatabase: store.database,
      clickhouseCluster: store.cluster ?? null,
      retentionMs: 0,
    },
    { logger: silentLogger() },
  );
  pool.running.push(collector);
  return collector;
}

export async function post(collector: RunningCollector, spans: SpanRow[]): Promise<void> {
  if (spans.length === 0) return;
  const response = await fetch(`${collector.otlpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: buildProtobufBody(resourceSpecs(spans)),
  });
  expect(response.status).toBe(200);
}

/** Until the store holds everything the collector acknowledged, then every scheduled analysis done. */
export async function storedAndAnalysed(collector: RunningCollector): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const { ingest } = (await (await fetch(`${collector.apiUrl}/api/health`)).json()) as { ingest: { lagSpans: number } };
    if (ingest.lagSpans === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The receiver reports a stored batch to the indexer right after the store confirms it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  await collector.indexer.drain();
}

/** Every record and anomaly of the window, without the analysis time (which differs run to run). */
export async function outcome(collector: RunningCollector, window: TimeWindow) {
  const page = await collector.store.listFlows({ ...window, limit: 1000 });
  const records: Omit<FlowRecord, 'analyzedAtMs'>[] = [];
  for (const flow of page.flows) {
    const { analyzedAtMs: _analyzedAtMs, ...record } = (await collector.store.getFlowRecord(flow.conversationId))!;
    records.push(record);
  }
  const byKind = Object.fromEntries(
    await Promise.all(
      Object.keys(page.anomalyCounts).map(async (kind) => {
        const ofKind = await collector.store.listFlows({ ...window, limit: 1000, anomaly: kind as never });
        return [kind, ofKind.flows.map((f) => f.conversationId)];
      }),
    ),
  );
  return {
    total: page.total,
    anomalyCounts: page.anomalyCounts,
    records,
    byKind,
    anomalies: await collector.store.listAnomalies({ ...window, limit: 10_000 }),
  };
}
