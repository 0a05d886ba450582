/**
 * Detection measured against the ground truth: run a scenario with telemetry going into a
 * collector, wait until the collector has judged every flow, then compare the anomalies its
 * API reports with the faults the system recorded, per anomaly kind. The collector is passed
 * in (this package does not depend on it): the test and the script start one in-process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { scenarioPlan } from '../faults/faults.js';
import type { DetectableKind, TruthRecord } from '../faults/ground-truth.js';
import type { Database } from '../infra/database.js';
import { driveOrders, type Placed } from '../load-generator.js';
import { SERVICES, startSystem } from '../system.js';
import { startMultiServiceTelemetry } from '../telemetry/multi-service.js';
import { runAs } from '../telemetry/service-scope.js';
import { waitUntilQuiet } from '../verify.js';

export const DETECTABLE_KINDS: DetectableKind[] = [
  'duplicate-delivery',
  'duplicate-processing',
  'retry',
  'dead-letter',
  'ghost-message',
  'lost-message',
  'offload',
];

export interface CollectorUnderTest {
  otlpUrl: string;
  apiUrl: string;
  quietPeriodMs: number;
}

export interface ReportedAnomaly {
  kind: string;
  messageId: string;
  service: string;
  detail: string;
}

export interface KindScore {
  kind: DetectableKind;
  truth: number;
  detected: number;
  truePositives: number;
  precision: number;
  recall: number;
  missed: string[];
  unexpected: string[];
}

export interface DetectionRun {
  scenario: string;
  orders: Placed[];
  truth: TruthRecord[];
  anomalies: ReportedAnomaly[];
  scores: KindScore[];
}

export interface MeasureOptions {
  collector: CollectorUnderTest;
  scenario: string;
  seed?: string;
  orders: number;
  rate: number;
  /** Embedded state and table queue; or RabbitMQ + PostgreSQL via `real`. */
  database?: Database;
  real?: { databaseUrl: string; schema: string; amqpUrl: string; queuePrefix: string };
  blobDir: string;
  logger: Logger;
}

const keyOf = (a: { kind: string; messageId: string; service: string }) => `${a.kind} ${a.service} ${a.messageId}`;

/** Precision and recall per kind over (kind, service, message id) keys. */
export function scoreDetection(truth: TruthRecord[], anomalies: ReportedAnomaly[]): KindScore[] {
  return DETECTABLE_KINDS.map((kind) => {
    const expected = new Set(truth.filter((t) => t.kind === kind).map(keyOf));
    const found = new Set(anomalies.filter((a) => a.kind === kind).map(keyOf));
    const hits = [...found].filter((k) => expected.has(k));
    return {
      kind,
      truth: expected.size,
      detected: found.size,
      truePositives: hits.length,
      precision: found.size === 0 ? (expected.size === 0 ? 1 : 0) : hits.length / found.size,
      recall: expected.size === 0 ? 1 : hits.length / expected.size,
      missed: [...expected].filter((k) => !found.has(k)),
      unexpected: [...found].filter((k) => !expected.has(k)),
    };
  });
}

export function formatScores(runs: DetectionRun[]): string {
  const lines = ['scenario           kind                  truth  found  precision  recall'];
  for (const run of runs) {
    for (const s of run.scores) {
      if (s.truth === 0 && s.detected === 0) continue;
      lines.push(
        `${run.scenario.padEnd(18)} ${s.kind.padEnd(21)} ${String(s.truth).padStart(5)}  ${String(s.detected).padStart(5)}  ${s.precision.toFixed(2).padStart(9)}  ${s.recall.toFixed(2).padStart(6)}`,
      );
    }
  }
  return lines.join('\n');
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** Waits until the collector has judged every flow of the window (none is still active). */
async function waitForJudgement(apiUrl: string, fromMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let previous = '';
  while (Date.now() < deadline) {
    const { flows } = await getJson<{ flows: { conversationId: string; state: string; analyzedAtMs?: number }[] }>(
      `${apiUrl}/api/flows?from=${fromMs}&to=${Date.now() + 60_000}&limit=500`,
    );
    const signature = flows.map((f) => `${f.conversationId}:${f.state}`).sort().join(',');
    if (flows.length > 0 && flows.every((f) => f.state !== 'active') && signature === previous) return;
    previous = signature;
    await sleep(1_000);
  }
  throw new Error('the collector did not judge every flow in time');
}

export async function measureDetection(options: MeasureOptions): Promise<DetectionRun> {
  const { collector, scenario } = options;
  const seed = options.seed ?? `${scenario}-${Date.now().toString(36)}`;
  const startMs = Date.now() - 1_000;
  const telemetry = startMultiServiceTelemetry({
    services: [...SERVICES, 'load-generator'],
    fallbackService: 'onceflow-samples',
    endpoint: collector.otlpUrl,
  });
  const system = await startSystem({
    database: options.database,
    ...(options.real ?? {}),
    plan: scenarioPlan(scenario, seed),
    blobDir: options.blobDir,
    retry: { immediate: 1, delaysMs: [50, 100] },
    visibilityTimeoutMs: 5_000,
    pollIntervalMs: 20,
    invoice: { inlineThresholdBytes: 64 * 1024, largeMinBytes: 100 * 1024, largeMaxBytes: 200 * 1024 },
    logger: options.logger,
  });
  try {
    const orders = await runAs('load-generator', () =>
      driveOrders({ shopUrl: system.shopUrl!, seed, rate: options.rate, count: options.orders, repeatProbability: 0 }),
    );
    if (!(await waitUntilQuiet(system, 120_000, 1_000))) throw new Error(`scenario ${scenario} did not settle`);
    await telemetry.forceFlush();
    await sleep(collector.quietPeriodMs);
    await waitForJudgement(collector.apiUrl, startMs, collector.quietPeriodMs * 4 + 60_000);
    const anomalies: ReportedAnomaly[] = [];
    for (const kind of DETECTABLE_KINDS) {
      const body = await getJson<{ anomalies: ReportedAnomaly[] }>(
        `${collector.apiUrl}/api/anomalies?from=${startMs}&to=${Date.now() + 60_000}&kind=${kind}&limit=1000`,
      );
      anomalies.push(...body.anomalies);
    }
    const truth = [...system.truth.records];
    return { scenario, orders, truth, anomalies, scores: scoreDetection(truth, anomalies) };
  } finally {
    if (options.real) await system.transport.destroy?.();
    await system.stop();
    await telemetry.shutdown();
  }
}
