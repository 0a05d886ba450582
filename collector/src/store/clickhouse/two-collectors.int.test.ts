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
import { CLICKHOUSE_URL, requireClickHouse } from '@onceflow/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { generateFlows } from '../../../bench/generate-flows.js';
import {
  closeCollectors,
  newCollectorPool,
  outcome as outcomeIn,
  post,
  startClickHouseCollector,
  storedAndAnalysed,
} from '../../../test/scale-out/collectors.js';
import type { RunningCollector } from '../../app.js';
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
const pool = newCollectorPool();

afterAll(async () => {
  await closeCollectors(pool);
  for (const database of Object.values(databases)) {
    const store = new ClickHouseStore({ url: CLICKHOUSE_URL, database });
    await store.dropDatabase();
    await store.close();
  }
});

const start = (database: string) => startClickHouseCollector(pool, { url: CLICKHOUSE_URL, database });
const outcome = (collector: RunningCollector) => outcomeIn(collector, window);

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
