/**
 * Last step of the flow pipeline: assemble what the API returns. `reconstructFlow` gives the
 * full flow (messages paged for huge conversations; counts and anomalies always over all of
 * it); `analyzeConversation` gives the record the flow indexer stores.
 *
 * State: `active` until `quietPeriodMs` after the last span ended (longer for a slow message
 * type or a scheduled retry); then `complete` when every message the flow waits for was
 * processed (or skipped as a duplicate at every endpoint), else `incomplete` (lost,
 * dead-lettered, still failing, never delivered, or missed by a usual subscriber).
 */
import type { Anomaly, AnomalyKind, Flow, FlowMessage, FlowRecord, FlowSummary } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { detectAnomalies, worstSeverity } from './anomalies.js';
import { crossFlowOrderAnomalies } from './cross-flow-order.js';
import { buildLedger, overallVerdict } from './ledger.js';
import {
  buildConversationModel,
  countsForCompletion,
  producerOf,
  type ConversationModel,
  type MessageModel,
  type ModelOptions,
} from './conversation-model.js';

export interface FlowOptions extends ModelOptions {
  /** Page of `messages` to return; default: all of them. */
  page?: { offset: number; limit: number };
  /** The store returned only part of the conversation's spans. */
  truncated?: boolean;
}

function summarize(model: ConversationModel, anomalies: Anomaly[]): FlowSummary {
  // A message that missed a usual subscriber was not processed everywhere it should have been.
  const complete =
    model.messages.every((m) => !countsForCompletion(m) || m.status === 'processed') &&
    !anomalies.some((a) => a.kind === 'missed-delivery');
  const anomalyCounts: Partial<Record<AnomalyKind, number>> = {};
  for (const a of anomalies) anomalyCounts[a.kind] = (anomalyCounts[a.kind] ?? 0) + 1;
  const messageTypes = new Set<string>();
  for (const m of model.messages) if (m.type) messageTypes.add(m.type);
  const first = model.messages.find((m) => m.type);
  const ledger = buildLedger(model, anomalies);
  return {
    conversationId: model.conversationId,
    startMs: model.startMs,
    endMs: model.endMs,
    durationMs: model.endMs - model.startMs,
    complete,
    state: model.active ? 'active' : complete ? 'complete' : 'incomplete',
    services: model.services,
    messageTypes: [...messageTypes].sort(),
    rootType: first?.type || model.boundaryRoute || model.rootSpanName,
    messageCount: model.messages.length,
    spanCount: model.spanCount,
    idempotencyKeys: model.idempotencyKeys,
    businessKeys: model.businessKeys,
    anomalyCounts,
    worstSeverity: worstSeverity(anomalies),
    ledger,
    verdict: overallVerdict(ledger),
  };
}

function toFlowMessage(message: MessageModel): FlowMessage {
  return {
    messageId: message.id,
    messageType: message.type,
    causationId: message.causationId,
    idempotencyKey: message.idempotencyKey,
    businessKey: message.businessKey,
    producer: producerOf(message),
    destination: message.destination,
    payloadBytes: message.payloadBytes,
    payloadOffloaded: message.payloadOffloaded,
    payloadRef: message.payloadRef,
    payloadFetched: message.fetchedBy.size > 0,
    sentAtMs: message.sentAtMs,
    sends: message.sends.map((s) => s.send),
    deliveries: message.attempts.map((a) => a.delivery),
    status: message.status,
    flags: [...message.flags],
  };
}

/** A conversation's spans → the flow `GET /api/flows/:conversationId` returns. */
export function reconstructFlow(spans: SpanRow[], options: FlowOptions): Flow {
  const model = buildConversationModel(spans, options);
  const anomalies = detectAnomalies(model, crossFlowOrderAnomalies(model, options.businessKeyOrder ?? []));
  const total = model.messages.length;
  const offset = Math.max(0, Math.min(options.page?.offset ?? 0, total));
  const limit = Math.max(0, options.page?.limit ?? total);
  return {
    ...summarize(model, anomalies),
    messages: model.messages.slice(offset, offset + limit).map(toFlowMessage),
    httpCalls: model.httpCalls,
    edges: model.edges,
    anomalies,
    page: { offset, limit, total },
    truncated: options.truncated ?? false,
  };
}

/** A conversation's spans → the record the flow indexer saves (summary + every anomaly). */
export function analyzeConversation(spans: SpanRow[], options: ModelOptions): FlowRecord {
  return judgeConversation(spans, options).record;
}

/** The record, and when an active flow is to be judged again (its quiet period, adapted per message, has passed). */
export function judgeConversation(spans: SpanRow[], options: ModelOptions): { record: FlowRecord; quietUntilMs: number } {
  const model = buildConversationModel(spans, options);
  const anomalies = detectAnomalies(model, crossFlowOrderAnomalies(model, options.businessKeyOrder ?? []));
  return { record: { ...summarize(model, anomalies), anomalies, analyzedAtMs: options.now }, quietUntilMs: model.quietUntilMs };
}

/** The record of an already reconstructed flow (no re-analysis). */
export function summarizeFlow(flow: Flow, analyzedAtMs: number): FlowRecord {
  const { messages: _m, httpCalls: _h, edges: _e, page: _p, truncated: _t, ...record } = flow;
  return { ...record, analyzedAtMs };
}
