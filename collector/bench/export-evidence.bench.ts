/**
 * What the export evidence of one flow costs to read from the DuckDB store (not a test; run by
 * hand): the export sequence aggregate alone (what the indexer read before deliveries were
 * named) against the aggregate and the entry spans read together (what it reads now where the
 * aggregate shows losses; where it shows none the entry spans are not read), over the window one
 * flow's analysis asks for, alternating, median of `runs` each.
 *
 *   npx tsx collector/bench/export-evidence.bench.ts [spans=300000] [runs=21]
 *
 * Spans: orders' sends and billing's attempts, 500 spans/s for 10 minutes, each service
 * numbering its spans (`onceflow.export.*`) with 5 % dropped before the insert.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ATTR_EXPORT_ENTRIES,
  ATTR_EXPORT_PREVIOUS_ENTRIES,
  ATTR_EXPORT_SEQ,
  ATTR_EXPORT_STREAM,
  PREVIOUS_ENTRIES_KEPT,
} from '@onceflow/instrumentation/semconv';
import { msToNs, type SpanRow } from '../src/model/span.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { SYNTHETIC_BASE_MS, syntheticSpan } from '../test/store/synthetic-spans.js';

const total = Number(process.argv[2] ?? 300_000);
const runs = Number(process.argv[3] ?? 21);
const SPACING_MS = 2;
/** The window a flow's analysis reads: a bucket before its first span to a bucket after now (10 s buckets). */
const WINDOW_MS = 40_000;

const streams = new Map<string, { seq: number; entries: number; previous: string[] }>();
function numbered(k: number): SpanRow | null {
  const span = syntheticSpan(k, 1);
  span.startNs = msToNs(SYNTHETIC_BASE_MS) + BigInt(k * SPACING_MS) * 1_000_000n;
  const stream = streams.get(span.service) ?? { seq: 0, entries: 0, previous: [] };
  streams.set(span.service, stream);
  stream.seq += 1;
  const attributes: Record<string, string> = { ...span.attributes, [ATTR_EXPORT_STREAM]: span.service.padEnd(16, '0') };
  attributes[ATTR_EXPORT_SEQ] = String(stream.seq);
  if (span.kind === 'consumer') {
    stream.entries += 1;
    if (stream.previous.length > 0) attributes[ATTR_EXPORT_PREVIOUS_ENTRIES] = JSON.stringify(stream.previous);
    stream.previous = [span.messageId, ...stream.previous].slice(0, PREVIOUS_ENTRIES_KEPT);
  }
  attributes[ATTR_EXPORT_ENTRIES] = String(stream.entries);
  // 5 % dropped on the way, by a hash of the number.
  return (k * 2_654_435_761) % 100 < 5 ? null : { ...span, attributes };
}

const dir = mkdtempSync(join(tmpdir(), 'onceflow-export-bench-'));
const store = new DuckDbStore({ dataDir: dir });
await store.init();
for (let i = 0; i < total; i += 8192) {
  const batch: SpanRow[] = [];
  for (let k = i; k < Math.min(total, i + 8192); k++) {
    const span = numbered(k);
    if (span) batch.push(span);
  }
  await store.insertSpans(batch);
}

const spanMs = total * SPACING_MS;
const windowAt = (i: number) => {
  const fromMs = SYNTHETIC_BASE_MS + ((i * 7919 * 1000) % (spanMs - WINDOW_MS));
  return { fromMs, toMs: fromMs + WINDOW_MS };
};
const before: number[] = [];
const now: number[] = [];
let named = 0;
for (let i = 0; i < runs; i++) {
  const window = windowAt(i);
  let start = performance.now();
  await store.exportSequences(window, 10_000);
  before.push(performance.now() - start);
  start = performance.now();
  // As the loss source reads them: the aggregate, then (it shows losses) the entry spans.
  await store.exportSequences(window, 10_000);
  const entries = await store.exportEntries(window);
  now.push(performance.now() - start);
  named += entries.length;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`${total.toLocaleString('en')} spans over ${spanMs / 1000} s; window ${WINDOW_MS / 1000} s; ${runs} runs each, alternating`);
console.log(`sequence aggregate alone          median ${median(before).toFixed(2)} ms`);
console.log(`aggregate, then the entry spans     median ${median(now).toFixed(2)} ms  (${(median(now) / median(before)).toFixed(2)}×)`);
console.log(`entry spans read per window: ${Math.round(named / runs).toLocaleString('en')}`);
await store.close();
rmSync(dir, { recursive: true, force: true });
