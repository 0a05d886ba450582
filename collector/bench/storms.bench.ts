/**
 * Storm detection benchmark (not a test; run by hand):
 *
 *   npx tsx collector/bench/storms.bench.ts [keys=100] [buckets=420] [runs=7]
 *
 * The worst case of `/api/storms`: a 5-minute view has 5-second buckets and reads 30 minutes of
 * history before it (420 buckets, a 360-bucket baseline window), and every bucket of every
 * (endpoint, message type) × storm kind has events. Times `detectStorms` (median of `runs`)
 * against the same baselines worked out by sorting the window every bucket (what the sliding
 * window replaces), measured in the same run.
 */
import { robustBaseline } from '../src/analysis/robust-baseline.js';
import { DEFAULT_STORM_OPTIONS, detectStorms, type StormBucketRow } from '../src/analysis/storms.js';

const [keys = 100, buckets = 420, runs = 7] = process.argv.slice(2).map(Number);
const STEP_MS = 5_000;
const WINDOW = DEFAULT_STORM_OPTIONS.baselineMs / STEP_MS;

const rows: StormBucketRow[] = [];
for (let k = 0; k < keys; k++) {
  for (let i = 0; i < buckets; i++) {
    rows.push({
      timeMs: i * STEP_MS,
      service: `service-${k}`,
      destination: 'queue',
      messageType: 'Message',
      attempts: 50,
      duplicateDeliveries: 3 + (i % 5),
      duplicateProcessings: 1 + (i % 3),
      retries: 2 + (i % 4),
      failures: 1 + (i % 2),
      deadLetters: 1 + (i % 7 === 0 ? 1 : 0),
      ghostMessages: 0,
      lostMessages: 0,
      inconsistentOutputs: 0,
    });
  }
}

function median(times: number[]): number {
  return [...times].sort((a, b) => a - b)[times.length >> 1];
}

function time(body: () => void): number {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    body();
    times.push(performance.now() - start);
  }
  return median(times);
}

const detect = time(() => detectStorms(rows, { ...DEFAULT_STORM_OPTIONS, stepMs: STEP_MS }));
// The reference: one sorted copy of the trailing window per bucket, per key and kind.
const series = Array.from({ length: buckets }, (_, i) => 3 + (i % 5));
const sortEveryBucket = time(() => {
  for (let n = 0; n < keys * 5; n++) {
    for (let i = 1; i < buckets; i++) robustBaseline(series.slice(Math.max(0, i - WINDOW), i));
  }
});
console.log(`${keys} keys × 5 kinds × ${buckets} buckets of ${STEP_MS / 1000} s (baseline window ${WINDOW} buckets), median of ${runs}:`);
console.log(`  detectStorms                      ${detect.toFixed(1)} ms`);
console.log(
  `  baselines sorted every bucket     ${sortEveryBucket.toFixed(1)} ms  (${(sortEveryBucket / detect).toFixed(1)}× detectStorms)`,
);
