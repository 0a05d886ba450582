/**
 * Scale-out: two collectors behind a round-robin balancer, sharing one ClickHouse database,
 * end with the same flow records and anomalies as one collector given the same spans.
 *
 *   conversation c: spans s1 s2 s3 s4 s5 …
 *                     │  │  │  │  │
 *   balancer:         A  B  A  B  A …     (each collector: own data dir and ingest log)
 *                     └──┴──┴──┴──┘
 *                   ClickHouse database "pair"         vs.   one collector → database "single"
 *
 * The pair is driven through the awkward order: collector A stores and analyses its halves
 * first (records judged on half a conversation), then B stores and analyses its halves. The
 * later analysis reads every stored span of the conversation, so its record (the newer
 * version) is the one both lists and the record lookup return.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLICKHOUSE_URL, requireClickHouse } from '@onceflow/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { generateFlows } from '../../../bench/generate-flows.js';
import { startCollector, type RunningCollector } from '../../app.js';
import { DEFAULT_CONFIG } from '../../config.js';
import { silentLogger } from '../../logger.js';
import type { FlowRecord } from '../../model/flow.js';
import type { SpanRow } from '../../model/span.js';
import { buildProtobufBody } from '../../otlp/request-builder.js';
import { resourceSpecs } from '../../../test/scale-out/span-rows-to-otlp.js';
import { ClickHouseStore } from './clickhouse-store.js';

const available = await requireClickHouse();
const HOUR = 3_600_000;
const nowMs = Date.now();
// Old enough that every flow is past its quiet period: records are final, whenever analysed.
const window = { fromMs: nowMs - 2 * HOUR, toMs: nowMs };
const conversations = [
  ...generateFlows({ totalSpans: 2500, fromMs: nowMs - HOUR, toMs: nowMs - 10 * 60_000, seed: 13, batchSpans: 2500 }),
].flatMap((batch) => batch.conversations);
const suffix = randomBytes(4).toString('hex');
const databases = { pair: `onceflow_test_pair_${suffix}`, single: `onceflow_test_single_${suffix}` };
const dirs: string[] = [];
const running: RunningCollector[] = [];

afterAll(async () => {
  for (const collector of running) await collector.close();
  for (const database of Object.values(databases)) {
    const store = new ClickHouseStore({ url: CLICKHOUSE_URL, database });
    await store.dropDatabase();
    await store.close();
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function start(database: string): Promise<RunningCollector> {
  const dataDir = mkdtempSync(join(tmpdir(), 'onceflow-scale-out-'));
  dirs.push(dataDir);
  const collector = await startCollector(
    { ...DEFAULT_CONFIG, port: 0, otlpPort: 0, dataDir, clickhouseUrl: CLICKHOUSE_URL, clickhouseDatabase: database, retentionMs: 0 },
    { logger: silentLogger() },
  );
  running.push(collector);
  return collector;
}

async function post(collector: RunningCollector, spans: SpanRow[]): Promise<void> {
  if (spans.length === 0) return;
  const response = await fetch(`${collector.otlpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: buildProtobufBody(resourceSpecs(spans)),
  });
  expect(response.status).toBe(200);
}

/** Until the store holds everything the collector acknowledged, then every scheduled analysis done. */
async function storedAndAnalysed(collector: RunningCollector): Promise<void> {
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
async function outcome(collector: RunningCollector) {
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

describe.skipIf(!available)('two collectors on one ClickHouse database', () => {
  it('end with the flow records and anomalies one collector produces', { timeout: 120_000 }, async () => {
    const [a, b] = [await start(databases.pair), await start(databases.pair)];
    const halves = conversations.map((c) => [c.spans.filter((_, i) => i % 2 === 0), c.spans.filter((_, i) => i % 2 === 1)]);
    for (const [even] of halves) await post(a, even);
    await storedAndAnalysed(a);
    const judgedOnHalves = await outcome(a);
    for (const [, odd] of halves) await post(b, odd);
    await storedAndAnalysed(b);
    await storedAndAnalysed(a);
    const pair = await outcome(b);

    const single = await start(databases.single);
    for (const c of conversations) await post(single, c.spans);
    await storedAndAnalysed(single);
    const one = await outcome(single);

    expect(one.total).toBe(conversations.length);
    expect(Object.keys(one.anomalyCounts).length).toBeGreaterThanOrEqual(3);
    // The halves alone were judged differently: the comparison below is not vacuous.
    expect(judgedOnHalves.records).not.toEqual(one.records);
    expect(pair.records).toEqual(one.records);
    expect([pair.total, pair.anomalyCounts, pair.byKind]).toEqual([one.total, one.anomalyCounts, one.byKind]);
    expect(pair.anomalies).toEqual(one.anomalies);
    // Both collectors of the pair answer the same.
    expect(await outcome(a)).toEqual(pair);
  });
});
