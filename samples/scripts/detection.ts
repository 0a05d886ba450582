/**
 * Prints detection precision and recall per scenario and anomaly kind, measured against the
 * ground truth derived from business state, and the share of `unknown` ledger verdicts:
 * `npm run detection -w @onceflow/samples [-- scenario ...]` (`DETECTION_ORDERS`, default 200).
 * Each scenario runs against a fresh in-process collector (DuckDB store) and a fresh PGlite.
 */
import { join } from 'node:path';
import pino from 'pino';
import { openDatabase } from '../src/infra/database.js';
import { formatScores, formatTotals, measureDetection, type DetectionRun } from '../src/detection/measure.js';
import { startTestCollector } from './in-process-collector.js';

const DETECTION_SCENARIOS = [
  'duplicates',
  'retries',
  'poison',
  'ghost',
  'lost',
  'premature-publish',
  'inconsistent-retry',
  'double-processing',
  'large-payloads',
  'commit-then-crash',
  'kv-crashes',
  'dropped-spans',
  'uninstrumented-consumer',
  'two-queues',
  'dedup-window',
  'claim-check',
  'uncommitted-side-effect',
  'slow-beyond-quiet',
  'out-of-order',
  'logical-duplicates',
  'http-retries',
  'http-retries-without-key',
  'chaos',
];
// Not scored: duplicate-storm (storms need 30 minutes of learning first), slow-consumer (its slow
// handlers stay inside the quiet period: slow-beyond-quiet is the one that tests it), and the demo's
// healthy / demo / trickle.
const scenarios = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const orders = Number(process.env.DETECTION_ORDERS ?? 200);

const runs: DetectionRun[] = [];
const failed: string[] = [];
const database = await openDatabase();
for (const scenario of scenarios.length > 0 ? scenarios : DETECTION_SCENARIOS) {
  await database.query('DROP SCHEMA public CASCADE');
  await database.query('CREATE SCHEMA public');
  const collector = await startTestCollector();
  try {
    const run = await measureDetection({
      collector,
      scenario,
      orders,
      rate: 10,
      database,
      blobDir: join(collector.dir, 'blobs'),
      logger: pino({ level: 'silent' }),
    });
    runs.push(run);
    console.log(formatScores([run]));
    for (const score of run.scores) {
      for (const key of score.missed) {
        const truth = run.truth.find((t) => `${t.kind} ${t.service} ${t.messageId}` === key);
        console.log(
          `  missed     ${key} (${truth?.messageType}: ${truth?.detail ?? ''})\n             judged ${score.missedJudged[key] ?? 'by no invariant'}`,
        );
      }
      for (const key of score.unexpected) {
        const found = run.anomalies.find((a) => `${a.kind} ${a.service} ${a.messageId}` === key);
        console.log(`  unexpected ${key}\n             ${found?.detail ?? ''}`);
      }
    }
  } catch (error) {
    failed.push(`${scenario}: ${(error as Error).message}`);
    console.log(`${scenario} failed: ${(error as Error).message}`);
  } finally {
    await collector.close();
  }
}
await database.close();
console.log(`\n${orders} orders per scenario\n${formatScores(runs)}\n\n${formatTotals(runs)}`);
if (failed.length > 0) {
  console.log(`\nscenarios that did not finish:\n${failed.join('\n')}`);
  process.exitCode = 1;
}
