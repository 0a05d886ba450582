/**
 * Detection measured against the ground truth: run a scenario with telemetry going into a
 * collector, wait until the collector has judged every flow, then compare the anomalies its
 * API reports, per anomaly kind, with the truth derived from the system's business state and
 * the injection log (`business-truth.ts`). Also counts the share of `unknown` ledger verdicts
 * the collector gave. The collector is passed in (this package does not depend on it): the
 * test and the script start one in-process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { declaredResource, scenarioPlan } from '../faults/faults.js';
import { DETECTABLE_KINDS, type DetectableKind, type TruthRecord } from '../faults/ground-truth.js';
import type { Database } from '../infra/database.js';
import { driveOrders, type Placed } from '../load-generator.js';
import { SERVICES, startSystem } from '../system.js';
import { startMultiServiceTelemetry } from '../telemetry/multi-service.js';
import { runAs } from '../telemetry/service-scope.js';
import { waitUntilQuiet } from '../verify.js';
import { readBusinessState } from './business-state.js';
import { deriveTruth, type ExpectedAnomaly } from './business-truth.js';
import { countVerdicts, judgementOf, type VerdictCount } from './verdicts.js';

export { DETECTABLE_KINDS };

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
  /**
   * Of the missed, those whose flow the collector judged `unknown` on the kind's invariant: an
   * honest "cannot tell" (the evidence was lost), not a false "held".
   */
  missedUnknown: string[];
  /**
   * How the collector judged each missed key's invariant in its message's flows: `unknown: <reason>`,
   * `held`, `violated: <reason>`, or `no flow` — a miss judged `held` is a false all-clear to chase.
   */
  missedJudged: Record<string, string>;
  unexpected: string[];
}

export interface DetectionRun {
  scenario: string;
  orders: Placed[];
  /** What the faults' log recorded as injected. */
  injected: TruthRecord[];
  /** The truth scored against: derived from business state and the injection log. */
  truth: ExpectedAnomaly[];
  anomalies: ReportedAnomaly[];
  scores: KindScore[];
  verdicts: VerdictCount;
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
export function scoreDetection(
  truth: readonly Pick<ExpectedAnomaly, 'kind' | 'messageId' | 'service'>[],
  anomalies: ReportedAnomaly[],
): KindScore[] {
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
      missedUnknown: [],
      missedJudged: {},
      unexpected: [...found].filter((k) => !expected.has(k)),
    };
  });
}

/** The ledger invariant an anomaly kind violates, for the kinds the ledger judges. */
const INVARIANT_OF: Partial<Record<DetectableKind, string>> = {
  'duplicate-processing': 'noDuplicateProcessing',
  'ghost-message': 'noGhost',
  'lost-message': 'noLost',
  'missed-delivery': 'noLost',
  'stuck-outbox': 'noLost',
  'inconsistent-output': 'consistentOutput',
  'logical-duplicate': 'consistentOutput',
};

interface RowFigures {
  truth: number;
  detected: number;
  precision: number;
  recall: number;
  missedUnknown: number;
}

const row = (label: string, kind: string, s: RowFigures) =>
  `${label.padEnd(24)} ${kind.padEnd(24)} ${String(s.truth).padStart(5)}  ${String(s.detected).padStart(5)}  ${s.precision.toFixed(2).padStart(9)}  ${s.recall.toFixed(2).padStart(6)}  ${String(s.missedUnknown).padStart(14)}`;
const HEADER = `${'scenario'.padEnd(24)} ${'kind'.padEnd(24)} truth  found  precision  recall  missed unknown`;

/** One line per (scenario, kind) the run touched. */
export function formatScores(runs: DetectionRun[]): string {
  const lines = [HEADER];
  for (const run of runs) {
    for (const s of run.scores)
      if (s.truth > 0 || s.detected > 0) lines.push(row(run.scenario, s.kind, { ...s, missedUnknown: s.missedUnknown.length }));
  }
  return lines.join('\n');
}

/** Every kind, summed over the runs, and the share of `unknown` ledger verdicts. */
export function formatTotals(runs: DetectionRun[]): string {
  const lines = [HEADER];
  for (const kind of DETECTABLE_KINDS) {
    const scores = runs.flatMap((r) => r.scores.filter((s) => s.kind === kind));
    const truth = scores.reduce((n, s) => n + s.truth, 0);
    const detected = scores.reduce((n, s) => n + s.detected, 0);
    const hits = scores.reduce((n, s) => n + s.truePositives, 0);
    lines.push(
      row('all', kind, {
        truth,
        detected,
        missedUnknown: scores.reduce((n, s) => n + s.missedUnknown.length, 0),
        precision: detected === 0 ? (truth === 0 ? 1 : 0) : hits / detected,
        recall: truth === 0 ? 1 : hits / truth,
      }),
    );
  }
  lines.push('', `${'scenario'.padEnd(24)} flows  verdicts  unknown  share`);
  for (const run of runs) lines.push(formatVerdicts(run.scenario, run.verdicts));
  return lines.join('\n');
}

function formatVerdicts(scenario: string, v: VerdictCount): string {
  if (v.verdicts === 0)
    return `${scenario.padEnd(24)} ${String(v.flows).padStart(5)}  no ledger verdicts in the collector's flows (${v.field})`;
  const line = `${scenario.padEnd(24)} ${String(v.flows).padStart(5)}  ${String(v.verdicts).padStart(8)}  ${String(v.unknown).padStart(7)}  ${(v.unknown / v.verdicts).toFixed(3)}`;
  // What the unknowns lack, most first: the evidence to add (or the loss to fix) to judge them.
  return [line, ...v.unknownByCause.map(([cause, n]) => `${''.padEnd(26)}${String(n).padStart(5)}  ${cause}`)].join('\n');
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** Waits until the collector has judged every flow of the window (none is still active). */
async function waitForJudgement(apiUrl: string, fromMs: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let previous = '';
  let active: string[] = [];
  while (Date.now() < deadline) {
    const { flows } = await getJson<{ flows: { conversationId: string; state: string; analyzedAtMs?: number }[] }>(
      `${apiUrl}/api/flows?from=${fromMs}&to=${Date.now() + 60_000}&limit=500`,
    );
    const signature = flows
      .map((f) => `${f.conversationId}:${f.state}`)
      .sort()
      .join(',');
    if (flows.length > 0 && flows.every((f) => f.state !== 'active') && signature === previous) return flows.map((f) => f.conversationId);
    previous = signature;
    active = flows.filter((f) => f.state === 'active').map((f) => f.conversationId);
    await sleep(1_000);
  }
  throw new Error(
    `the collector did not judge every flow in ${timeoutMs} ms; still active: ${active.length > 0 ? active.join(', ') : 'none (flows still changing)'}`,
  );
}

/**
 * How the flows of each missed key's message judged the kind's invariant, and which of the
 * missed were judged `unknown` (in any of them).
 */
async function judgeMissed(
  apiUrl: string,
  score: KindScore,
  flows: Map<string, unknown>,
): Promise<Pick<KindScore, 'missedUnknown' | 'missedJudged'>> {
  const invariant = INVARIANT_OF[score.kind];
  const judged: KindScore['missedJudged'] = {};
  if (!invariant) return { missedUnknown: [], missedJudged: judged };
  const unknown: string[] = [];
  for (const key of score.missed) {
    const messageId = key.split(' ').slice(2).join(' ');
    const res = await fetch(`${apiUrl}/api/messages/${encodeURIComponent(messageId)}`);
    if (!res.ok) {
      judged[key] = 'no flow';
      continue;
    }
    const { conversationIds } = (await res.json()) as { conversationIds: string[] };
    for (const id of conversationIds) {
      if (!flows.has(id)) flows.set(id, await getJson(`${apiUrl}/api/flows/${encodeURIComponent(id)}?limit=1`));
    }
    const verdicts = conversationIds.map((id) => ({ id, ...judgementOf(flows.get(id), invariant) }));
    if (verdicts.some((v) => v.verdict === 'unknown')) unknown.push(key);
    judged[key] =
      verdicts.length === 0 ? 'no flow' : verdicts.map((v) => `${v.verdict ?? 'no ledger'}${v.reason ? `: ${v.reason}` : ''}`).join(' | ');
  }
  return { missedUnknown: unknown, missedJudged: judged };
}

/**
 * Waits until the collector's indexer tracks no conversation: every flow judged and given its
 * second look (the collector judges a flow again two quiet periods after its verdict, for spans
 * lost at export meanwhile).
 */
async function waitForIndexerIdle(apiUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const health = await getJson<{ indexer: { tracked: number } | null }>(`${apiUrl}/api/health`);
    if (!health.indexer || health.indexer.tracked === 0) return;
    await sleep(1_000);
  }
  throw new Error('the collector kept conversations scheduled: its indexer did not finish');
}

export async function measureDetection(options: MeasureOptions): Promise<DetectionRun> {
  const { collector, scenario } = options;
  const seed = options.seed ?? `${scenario}-${Date.now().toString(36)}`;
  const startMs = Date.now() - 1_000;
  const plan = scenarioPlan(scenario, seed);
  const telemetry = startMultiServiceTelemetry({
    services: [...SERVICES, 'load-generator'],
    fallbackService: 'onceflow-samples',
    endpoint: collector.otlpUrl,
    drop: plan.dropSpans ? { share: plan.dropSpans, seed } : undefined,
    resourceOf: (service) => declaredResource(plan, service),
  });
  const system = await startSystem({
    database: options.database,
    ...(options.real ?? {}),
    plan,
    blobDir: options.blobDir,
    retry: { immediate: 1, delaysMs: [50, 100] },
    visibilityTimeoutMs: 5_000,
    // A crash's claim runs out and the sweeper recovers well inside the collector's quiet period.
    outbox: { sweepIntervalMs: 300, staleAfterMs: 1_000, claimMs: 1_500 },
    pollIntervalMs: 20,
    invoice: { inlineThresholdBytes: 64 * 1024, largeMinBytes: 100 * 1024, largeMaxBytes: 200 * 1024 },
    logger: options.logger,
  });
  try {
    const orders = await runAs('load-generator', () =>
      driveOrders({ shopUrl: system.shopUrl!, seed, rate: options.rate, count: options.orders, repeatProbability: 0 }),
    );
    // A loaded machine drains a few orders a second: allow for it.
    if (!(await waitUntilQuiet(system, 120_000 + options.orders * 2_000, 1_000))) throw new Error(`scenario ${scenario} did not settle`);
    await telemetry.forceFlush();
    await sleep(collector.quietPeriodMs);
    const conversations = await waitForJudgement(collector.apiUrl, startMs, collector.quietPeriodMs * 4 + 60_000 + options.orders * 1_500);
    await waitForIndexerIdle(collector.apiUrl, collector.quietPeriodMs * 4 + 60_000);
    const anomalies: ReportedAnomaly[] = [];
    for (const kind of DETECTABLE_KINDS) {
      const res = await fetch(`${collector.apiUrl}/api/anomalies?from=${startMs}&to=${Date.now() + 60_000}&kind=${kind}&limit=1000`);
      // A collector that does not know a kind yet (the verdicts issue adds some) reports none of it.
      if (res.status === 400) continue;
      if (!res.ok) throw new Error(`GET /api/anomalies?kind=${kind} answered ${res.status}: ${await res.text()}`);
      anomalies.push(...((await res.json()) as { anomalies: ReportedAnomaly[] }).anomalies);
    }
    const injected = [...system.truth.records];
    const truth = deriveTruth(await readBusinessState(system, orders), injected);
    const flows = new Map<string, unknown>();
    for (const id of conversations) flows.set(id, await getJson(`${collector.apiUrl}/api/flows/${encodeURIComponent(id)}?limit=1`));
    const scores = scoreDetection(truth, anomalies);
    for (const score of scores) Object.assign(score, await judgeMissed(collector.apiUrl, score, flows));
    return { scenario, orders, injected, truth, anomalies, scores, verdicts: countVerdicts([...flows.values()]) };
  } finally {
    if (options.real) await system.transport.destroy?.();
    await system.stop();
    await telemetry.shutdown();
  }
}
