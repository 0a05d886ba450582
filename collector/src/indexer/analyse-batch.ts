/**
 * The flow indexer's unit of work: analyse a batch of due conversations (a few at a time),
 * decide when each is due again, save the records, and report the anomalies not reported
 * before and those withdrawn (reported before, gone from the new analysis). A failing
 * conversation is retried a few times; a failing save reschedules the batch.
 */
import { judgeConversation } from '../analysis/index.js';
import type { Logger } from '../logger.js';
import type { Anomaly, FlowRecord } from '../model/flow.js';
import type { SpanStore } from '../store/span-store.js';
import { anomalyKey, type ConversationSchedule, type IndexerStats, type Tracked } from './conversation-schedule.js';
import { producerConversations } from './deliveries-elsewhere.js';
import type { DeliveryExpectations } from './delivery-expectations.js';
import { exportEvidenceOf, type ExportLossSource } from './export-loss-source.js';
import { completeFlowSpans } from './flow-spans.js';
import { businessKeyOrderOf } from './business-key-spans.js';
import type { LostDeliveryWatch } from './lost-deliveries.js';

export interface BatchSettings {
  quietPeriodMs: number;
  stuckOutboxAfterMs?: number;
  debounceMs: number;
  maxSpansPerConversation: number;
}

export interface BatchContext {
  store: SpanStore;
  logger: Logger;
  settings: BatchSettings;
  schedule: ConversationSchedule;
  stats: IndexerStats;
  expectations: () => DeliveryExpectations;
  exportLosses: ExportLossSource;
  lostDeliveries: LostDeliveryWatch;
  onFlows?: FlowListener;
}

/** Called with every batch of saved records, the anomalies not reported before, and those withdrawn. */
export type FlowListener = (records: FlowRecord[], newAnomalies: Anomaly[], withdrawn: Anomaly[]) => void;

const CONCURRENCY = 4;
const MAX_FAILURES = 5;
export const RETRY_AFTER_FAILURE_MS = 5000;
/** A judged flow is judged again this many quiet periods later (see `rescheduleAnalysed`). */
export const RECHECK_AFTER_QUIET_PERIODS = 2;
/** Re-analyse a little after the quiet period so spans that raced the deadline are included. */
const QUIET_MARGIN_MS = 1000;

type Judged = ReturnType<typeof judgeConversation>;

async function analyseOne(ctx: BatchContext, conversationId: string, nowMs: number): Promise<Judged | null> {
  const { maxSpansPerConversation, quietPeriodMs, stuckOutboxAfterMs } = ctx.settings;
  const spans = await ctx.store.spansOfConversation(conversationId, maxSpansPerConversation + 1);
  if (spans.length === 0) return null;
  const truncated = spans.length > maxSpansPerConversation;
  if (truncated) {
    ctx.logger.warn(
      { conversationId, limit: maxSpansPerConversation },
      'conversation has more spans than the indexer reads; analysing the first ones',
    );
    spans.length = maxSpansPerConversation;
  }
  // A flow this one delivered for may have been judged before these deliveries arrived.
  for (const owner of await producerConversations(ctx.store, conversationId, spans))
    ctx.schedule.schedule(owner, nowMs + ctx.settings.debounceMs);
  const complete = await completeFlowSpans(ctx.store, conversationId, spans, { now: nowMs, quietPeriodMs });
  const businessKeyOrder = await businessKeyOrderOf(ctx.store, complete, truncated ? undefined : { conversationId, spans });
  const exportEvidence = await exportEvidenceOf(ctx.exportLosses, complete, nowMs);
  // Flows (judged before, maybe long ago) one of whose messages' delivery the evidence shows lost.
  const own = new Set(complete.map((span) => span.messageId));
  for (const owner of await ctx.lostDeliveries.flowsToJudgeAgain(exportEvidence.entryLosses, own)) {
    if (owner !== conversationId) ctx.schedule.schedule(owner, nowMs + ctx.settings.debounceMs);
  }
  return judgeConversation(complete, {
    now: nowMs,
    quietPeriodMs,
    stuckOutboxAfterMs,
    businessKeyOrder,
    ...exportEvidence,
    ...ctx.expectations(),
  });
}

/** The record's anomalies not reported before, and the reported ones it no longer has; the entry remembers the record's. */
function reconcileReported(entry: Tracked, record: FlowRecord): { fresh: Anomaly[]; withdrawn: Anomaly[] } {
  const current = new Map(record.anomalies.map((anomaly) => [anomalyKey(anomaly), anomaly]));
  const fresh = [...current].filter(([key]) => !entry.reported.has(key)).map(([, anomaly]) => anomaly);
  const withdrawn = [...entry.reported].filter(([key]) => !current.has(key)).map(([, anomaly]) => anomaly);
  entry.reported = current;
  return { fresh, withdrawn };
}

/**
 * After a successful analysis: an active flow is due again after its quiet period; a judged one
 * is judged once more two quiet periods later, then forgotten. The second look is for evidence
 * that arrives as an absence: a redelivery after the quiet period (a visibility timeout) whose
 * span was lost at export leaves no span to trigger a new analysis, only a hole in its
 * service's export numbers, which turns a `held` verdict into `unknown`. Later than that, a
 * service that names its lost deliveries gets the flow judged again when the hole is found
 * (`lost-deliveries.ts`).
 */
function rescheduleAnalysed(
  ctx: BatchContext,
  conversationId: string,
  entry: Tracked,
  { record, quietUntilMs }: Judged,
  nowMs: number,
): void {
  entry.failures = 0;
  // A touch while we read set dueMs again: that analysis still happens.
  if (record.state === 'active') {
    const quietAtMs = Math.max(quietUntilMs + QUIET_MARGIN_MS, nowMs + ctx.settings.debounceMs);
    entry.dueMs = Math.min(entry.dueMs ?? Infinity, quietAtMs);
  } else if (entry.dueMs === null && !entry.rechecked) {
    entry.rechecked = true;
    entry.dueMs = nowMs + RECHECK_AFTER_QUIET_PERIODS * ctx.settings.quietPeriodMs;
  } else if (entry.dueMs === null) {
    ctx.schedule.forget(conversationId);
  }
}

function rescheduleFailed(ctx: BatchContext, conversationId: string, entry: Tracked, error: unknown, nowMs: number): void {
  ctx.stats.failures += 1;
  entry.failures += 1;
  ctx.logger.error({ err: error, conversationId, failures: entry.failures }, 'flow analysis failed');
  if (entry.failures >= MAX_FAILURES) ctx.schedule.forget(conversationId);
  else entry.dueMs = Math.min(entry.dueMs ?? Infinity, nowMs + RETRY_AFTER_FAILURE_MS);
}

/** Saves the records, then tells the listener; returns how many were saved (0 when saving failed). */
async function saveAndReport(
  ctx: BatchContext,
  records: FlowRecord[],
  newAnomalies: Anomaly[],
  withdrawn: Anomaly[],
  nowMs: number,
): Promise<number> {
  if (records.length === 0) return 0;
  try {
    await ctx.store.saveFlows(records);
  } catch (error) {
    ctx.stats.failures += 1;
    ctx.logger.error({ err: error, count: records.length }, 'saving flow records failed; will retry');
    for (const record of records) ctx.schedule.schedule(record.conversationId, nowMs + RETRY_AFTER_FAILURE_MS);
    return 0;
  }
  try {
    ctx.onFlows?.(records, newAnomalies, withdrawn);
  } catch (error) {
    ctx.logger.error({ err: error }, 'flow listener failed');
  }
  return records.length;
}

/** Analyses the conversations `ids` at `nowMs`; returns how many records were saved. */
export async function analyseBatch(ctx: BatchContext, ids: string[], nowMs: number): Promise<number> {
  const records: FlowRecord[] = [];
  const newAnomalies: Anomaly[] = [];
  const withdrawn: Anomaly[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const conversationId = ids[next++];
      const entry = ctx.schedule.get(conversationId);
      if (!entry) continue;
      try {
        const judged = await analyseOne(ctx, conversationId, nowMs);
        ctx.stats.analysed += 1;
        if (!judged) {
          ctx.schedule.forget(conversationId);
          continue;
        }
        records.push(judged.record);
        const reported = reconcileReported(entry, judged.record);
        newAnomalies.push(...reported.fresh);
        withdrawn.push(...reported.withdrawn);
        rescheduleAnalysed(ctx, conversationId, entry, judged, nowMs);
      } catch (error) {
        rescheduleFailed(ctx, conversationId, entry, error, nowMs);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
  return saveAndReport(ctx, records, newAnomalies, withdrawn, nowMs);
}
