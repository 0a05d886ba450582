/**
 * What validating an answer against the API contract costs the dashboard: `FlowSchema` over one
 * page (2,000 messages at most) of flows of 100, 1,000 and 5,000 messages, and `TopologySchema`
 * over the map of 50 services / 200 edges, next to the `JSON.parse` of the same body that the
 * client does anyway. Reported as ratios to that parse, measured in the same run.
 *
 *   npm run bench:contract -w @onceflow/dashboard
 */
import { FlowSchema, TopologySchema } from '@onceflow/collector/contract';
import { buildTopology, reconstructFlow } from '../../collector/src/analysis/index.js';
import { DuckDbStore } from '../../collector/src/store/duckdb/duckdb-store.js';
import { buildLargeFlow, buildWideSystem } from './synthetic.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const PAGE = { offset: 0, limit: 2000 };

function medianMs(work: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    work();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

function measure(name: string, body: unknown, schema: { parse(data: unknown): unknown }) {
  const text = JSON.stringify(body);
  const parseMs = medianMs(() => JSON.parse(text));
  const validateMs = medianMs(() => schema.parse(JSON.parse(text)));
  const extra = validateMs - parseMs;
  console.log(
    `${name.padEnd(28)} ${(text.length / 1024).toFixed(0).padStart(6)} KiB  JSON.parse ${parseMs.toFixed(2).padStart(7)} ms  ` +
      `+ validation ${extra.toFixed(2).padStart(7)} ms  (${(extra / parseMs).toFixed(2)}× the parse)`,
  );
}

const now = Date.now();
for (const messages of [100, 1000, 5000]) {
  const flow = reconstructFlow(buildLargeFlow(`bench-${messages}`, messages, now - 600_000), {
    now,
    quietPeriodMs: 60_000,
    page: PAGE,
    truncated: false,
  });
  measure(`flow of ${messages} messages`, flow, FlowSchema);
}

const store = new DuckDbStore({ path: ':memory:' });
await store.init();
await store.insertSpans(buildWideSystem(now - 600_000));
const timeWindow = { fromMs: now - 3_600_000, toMs: now };
measure('map of 50 services', buildTopology(await store.edgeAggregates(timeWindow), timeWindow), TopologySchema);
await store.close();
