/**
 * Detection end to end: the chaos scenario (every fault, bugs included) runs with its
 * telemetry going into an in-process collector; the anomalies the collector's API reports
 * are compared with the ground truth the system wrote. Duplicate processing, ghost and lost
 * messages, dead letters and retries must be found exactly: precision and recall 1.0.
 */
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatScores, measureDetection, type DetectionRun } from '../src/detection/measure.js';
import { closeEmbeddedDatabase, freshEmbeddedDatabase } from './helpers.js';
import { startTestCollector, type RunningTestCollector } from '../scripts/in-process-collector.js';

const EXACT = ['duplicate-processing', 'ghost-message', 'lost-message', 'dead-letter', 'retry'] as const;

describe('detection against the ground truth', () => {
  let collector: RunningTestCollector;
  let run: DetectionRun;

  beforeAll(async () => {
    collector = await startTestCollector();
    run = await measureDetection({
      collector,
      scenario: 'chaos',
      seed: 'detection-chaos',
      orders: 40,
      rate: 20,
      database: await freshEmbeddedDatabase(),
      blobDir: join(collector.dir, 'blobs'),
      logger: pino({ level: 'silent' }),
    });
    console.log(formatScores([run]));
  }, 240_000);

  afterAll(async () => {
    await collector?.close();
    await closeEmbeddedDatabase();
  });

  it('injected every exactly-once violation at least once', () => {
    const kinds = new Set(run.truth.map((t) => t.kind));
    for (const kind of EXACT) expect(kinds, kind).toContain(kind);
  });

  it.each(EXACT)('finds %s with precision and recall 1.0', (kind) => {
    const score = run.scores.find((s) => s.kind === kind)!;
    expect({ kind, missed: score.missed, unexpected: score.unexpected }).toEqual({ kind, missed: [], unexpected: [] });
    expect(score.precision).toBe(1);
    expect(score.recall).toBe(1);
  });
});
