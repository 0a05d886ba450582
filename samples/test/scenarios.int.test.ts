/**
 * The scenarios of issue 12 §3 that each teach one more thing, run end to end on the embedded
 * default (PGlite + table queue) into an in-process collector and scored against the truth
 * derived from business state (`business-truth.ts`): precision 1.00 on every kind, and every
 * expected anomaly found.
 * - slow-beyond-quiet: a consumer slower than the collector's quiet period; nothing is lost, so
 *   no lost message or missed delivery once the run is judged. Run with the quiet period lowered
 *   to 1.5 s and the handler slowed 8 s (the scenario's own 40 s is beyond the default 30 s; the
 *   handler renews its lease either way). While marketing works, a message queued behind a
 *   handler that started more than a quiet period before it was sent can still be reported lost
 *   for a while (the handler's span is exported when it ends; before the collector has learned
 *   marketing's latency nothing tells "queued" from "lost"), and is withdrawn once processed:
 *   a known limit (README), so for this scenario only the final verdict is checked.
 * - logical-duplicates: random outgoing ids; a redelivered SubmitOrder produces its messages again.
 * - out-of-order: OrderBilled deferred at orders, OrderShipped applied first.
 * - http-retries-without-key: a lost response retried without a key charges twice; with the
 *   key (`http-retries`) the provider replays and nothing is reported.
 * - uncommitted-side-effect: billing charges, then can never record the charge; the message is
 *   dead-lettered and the provider's execution stays.
 * - claim-check: invoicing's attempts fail after storing their blob (some delete it, some leave
 *   it orphaned), and some blobs are deleted right after the commit, before shipping reads them
 *   (404, dead letter).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatScores, measureDetection, type DetectionRun } from '../src/detection/measure.js';
import { SCENARIOS } from '../src/faults/faults.js';
import { startTestCollector, type RunningTestCollector } from '../scripts/in-process-collector.js';
import { closeEmbeddedDatabase, freshEmbeddedDatabase } from './helpers.js';

/** The slow scenario scaled to a test: 8 s of work against a 1.5 s quiet period. */
const SLOW_TEST_SCENARIO = 'slow-beyond-quiet (8 s, test)';
SCENARIOS[SLOW_TEST_SCENARIO] = {
  description: 'slow-beyond-quiet scaled for a test',
  plan: { services: { marketing: { slowConsumer: 0.3, slowConsumerMs: 8_000 } } },
};

interface Case {
  scenario: string;
  seed: string;
  orders: number;
  quietPeriodMs?: number;
  /** A consumer slower than the quiet period: interim lost reports are a known limit (see above). */
  slowConsumer?: boolean;
  /** Kinds the truth must hold at least once (the scenario did what it is for). */
  expected: string[];
  /** Kinds the injection log must hold at least once (faults with no anomaly of their own). */
  injected?: string[];
}

const CASES: Case[] = [
  {
    scenario: SLOW_TEST_SCENARIO,
    seed: 'slow-1',
    orders: 8,
    quietPeriodMs: 1_500,
    slowConsumer: true,
    expected: [],
    injected: ['slow-consumer'],
  },
  { scenario: 'logical-duplicates', seed: 'logical-1', orders: 12, expected: ['logical-duplicate', 'duplicate-processing'] },
  { scenario: 'out-of-order', seed: 'order-1', orders: 12, expected: ['out-of-order', 'retry'] },
  { scenario: 'http-retries', seed: 'keyed-1', orders: 12, expected: [], injected: ['http-retry'] },
  { scenario: 'http-retries-without-key', seed: 'keyless-1', orders: 12, expected: ['duplicate-processing'], injected: ['http-retry'] },
  { scenario: 'uncommitted-side-effect', seed: 'side-effect-3', orders: 12, expected: ['uncommitted-side-effect', 'dead-letter'] },
  {
    scenario: 'claim-check',
    seed: 'claim-10',
    orders: 12,
    expected: ['missing-payload', 'orphaned-payload', 'dead-letter', 'offload', 'retry'],
  },
];

afterAll(closeEmbeddedDatabase);

describe.each(CASES)('scenario $scenario against business-state truth', (c) => {
  let collector: RunningTestCollector;
  let run: DetectionRun;
  /** Lost messages and missed deliveries the collector reported at any time during the run. */
  const reportedMeanwhile = new Set<string>();
  let polls = 0;

  beforeAll(async () => {
    collector = await startTestCollector(c.quietPeriodMs);
    let running = true;
    const watch = (async () => {
      while (running) {
        for (const kind of ['lost-message', 'missed-delivery']) {
          const window = `from=${Date.now() - 3_600_000}&to=${Date.now() + 60_000}`;
          const res = await fetch(`${collector.apiUrl}/api/anomalies?${window}&kind=${kind}&limit=1000`).catch(() => undefined);
          if (!res?.ok) continue;
          polls += 1;
          for (const a of ((await res.json()) as { anomalies: { kind: string; service: string; messageId: string }[] }).anomalies)
            reportedMeanwhile.add(`${a.kind} ${a.service} ${a.messageId}`);
        }
        await sleep(500);
      }
    })();
    try {
      run = await measureDetection({
        collector,
        scenario: c.scenario,
        seed: c.seed,
        orders: c.orders,
        rate: 20,
        database: await freshEmbeddedDatabase(),
        blobDir: join(collector.dir, 'blobs'),
        logger: pino({ level: 'silent' }),
      });
    } finally {
      running = false;
      await watch;
    }
    console.log(`${c.scenario} (seed ${c.seed}, ${c.orders} orders)\n${formatScores([run])}`);
    console.log(`reported while the run went on (${polls} polls): ${[...reportedMeanwhile].join(', ') || 'nothing lost or missed'}`);
  }, 120_000);

  afterAll(async () => {
    await collector?.close();
  });

  it('produced what the scenario is for', () => {
    const kinds = new Set(run.truth.map((t) => t.kind));
    for (const kind of c.expected) expect(kinds, kind).toContain(kind);
    const injected = new Set(run.injected.map((t) => t.kind));
    for (const kind of c.injected ?? []) expect(injected, kind).toContain(kind);
  });

  it('finds every kind with precision and recall 1.00', () => {
    const off = run.scores
      .filter((s) => s.precision < 1 || s.recall < 1)
      .map((s) => ({ kind: s.kind, missed: s.missed, unexpected: s.unexpected }));
    expect(off).toEqual([]);
  });

  it('reported no lost message or missed delivery once the run was judged', () => {
    const wrong = run.anomalies.filter((a) => a.kind === 'lost-message' || a.kind === 'missed-delivery');
    expect(wrong).toEqual([]);
  });

  if (!c.slowConsumer) {
    it('never reported a lost message or a missed delivery while the run went on', () => {
      expect(polls).toBeGreaterThan(0);
      expect([...reportedMeanwhile]).toEqual([]);
    });
  }
});
