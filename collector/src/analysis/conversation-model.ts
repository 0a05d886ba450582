/**
 * Second step of the flow pipeline: index one conversation's spans into messages, attempts,
 * sends, HTTP calls and causation edges. The anomaly detectors and the flow assembly read this
 * model; nothing here judges anything except message status.
 *
 * Identity is per (endpoint, message id): a message is keyed by its id, and its attempts are
 * grouped per consuming service (`endpoints`). Redeliveries in new traces join on message id.
 * Everything is map-based and linear in the number of spans (ancestor lookups are memoized).
 *
 * The steps, in order: span-tree (parentage) → attempt-grouping → http-calls → message-index
 * → blob-operations → causation-edges → evidence-gaps → quiet periods and message status.
 */
import { ATTR_BUSINESS_KEY } from '@onceflow/instrumentation/semconv';
import type { MessageStatus } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { groupAttempts } from './attempt-grouping.js';
import { indexBlobOperations } from './blob-operations.js';
import { buildCausationEdges } from './causation-edges.js';
import type { AttemptModel, ConversationModel, MessageModel, ModelOptions } from './conversation-types.js';
import { findEvidenceGaps } from './evidence-gaps.js';
import { callersByTree, matchHttpCalls } from './http-calls.js';
import { indexMessages } from './message-index.js';
import { endMsOf, startMsOf } from '../model/span-roles.js';
import { ancestorIndex, compareSpans, keyOf } from './span-tree.js';

export type { AttemptModel, ConversationModel, EvidenceGaps, MessageModel, ModelOptions, SendModel } from './conversation-types.js';

/** A message type's quiet period is this multiple of its delivery latency p99 … */
export const QUIET_LATENCY_MULTIPLE = 3;
/** … at least the base quiet period, and at most this long (unless the base is longer). */
export const MAX_ADAPTIVE_QUIET_MS = 10 * 60_000;
export const DEFAULT_STUCK_OUTBOX_AFTER_MS = 30_000;

/** How long a message of this type may take to be delivered and processed before it is judged. */
export function quietPeriodFor(options: ModelOptions, messageType: string): number {
  const p99 = options.deliveryLatencyP99Ms?.get(messageType);
  if (p99 === undefined || !Number.isFinite(p99)) return options.quietPeriodMs;
  return Math.max(options.quietPeriodMs, Math.min(QUIET_LATENCY_MULTIPLE * p99, MAX_ADAPTIVE_QUIET_MS));
}

/**
 * Its send (or first evidence) plus its type's quiet period; later when a scheduled retry is
 * due later, or when a committed outgoing id is not yet past the stuck-outbox threshold.
 */
function quietUntilOf(message: MessageModel, options: ModelOptions): number {
  const quietMs = quietPeriodFor(options, message.type);
  let until = (message.sentAtMs ?? message.firstMs) + quietMs;
  for (const attempts of message.endpoints.values()) {
    const last = attempts[attempts.length - 1];
    if (last?.effective === 'retry_scheduled') until = Math.max(until, last.endMs + (last.retryDelayMs ?? 0) + quietMs);
  }
  if (message.sends.length === 0 && message.attempts.length === 0) {
    const stuckAfterMs = options.stuckOutboxAfterMs ?? DEFAULT_STUCK_OUTBOX_AFTER_MS;
    for (const lister of message.listedBy) {
      if (!lister.failed && lister.committedAtMs !== null) until = Math.max(until, lister.committedAtMs + stuckAfterMs);
    }
  }
  return until;
}

/** The message was produced by a committed attempt (or at the boundary): it must be delivered. */
export function producedByCommitted(message: MessageModel): boolean {
  return message.sends.some((s) => !s.resend && !s.send.fromFailedAttempt) || message.listedBy.some((a) => !a.failed);
}

/** Some attempt that did not commit sent it (or recorded it as outgoing). */
export function producedByFailed(message: MessageModel): boolean {
  return message.sends.some((s) => s.send.fromFailedAttempt) || message.listedBy.some((a) => a.failed);
}

/** The service that produced a message: its first send's, else the first attempt's that listed it. */
export function producerOf(message: MessageModel): string {
  return message.sends[0]?.send.service ?? message.listedBy[0]?.service ?? '';
}

/** Attempt kept work: processed, or skipped as already processed. */
export function isSuccess(attempt: AttemptModel): boolean {
  return attempt.effective === 'processed' || attempt.effective === 'duplicate';
}

function statusOf(message: MessageModel, active: boolean): MessageStatus {
  if (message.attempts.length === 0) return active ? 'in-flight' : 'lost';
  let failing = false;
  for (const attempts of message.endpoints.values()) {
    if (attempts.some((a) => a.effective === 'dead_lettered')) return 'dead-lettered';
    if (!attempts.some(isSuccess)) failing = true;
  }
  return failing ? 'failing' : 'processed';
}

/**
 * Whether the message counts for completeness: a message only an aborted attempt sent and that
 * was never delivered is a rolled-back side effect, not one the flow waits for.
 */
export function countsForCompletion(message: MessageModel): boolean {
  return message.attempts.length > 0 || producedByCommitted(message);
}

/** Conversation-wide facts: id, time span, services and keys seen on any span. */
function describeConversation(spans: SpanRow[], now: number) {
  let conversationId = '';
  let startMs = Infinity;
  let endMs = -Infinity;
  const services = new Set<string>();
  const idempotencyKeys = new Set<string>();
  const businessKeys = new Set<string>();
  for (const span of spans) {
    conversationId ||= span.conversationId;
    startMs = Math.min(startMs, startMsOf(span));
    endMs = Math.max(endMs, endMsOf(span));
    services.add(span.service);
    if (span.idempotencyKey) idempotencyKeys.add(span.idempotencyKey);
    const businessKey = span.attributes[ATTR_BUSINESS_KEY];
    if (businessKey) businessKeys.add(businessKey);
  }
  if (spans.length === 0) startMs = endMs = now;
  return {
    conversationId,
    startMs,
    endMs,
    services: [...services].sort(),
    idempotencyKeys: [...idempotencyKeys].sort(),
    businessKeys: [...businessKeys].sort(),
  };
}

export function buildConversationModel(input: SpanRow[], options: ModelOptions): ConversationModel {
  const spans = [...input].sort(compareSpans);
  const byKey = new Map<string, SpanRow>();
  for (const span of spans) byKey.set(keyOf(span), span);
  const ancestorsOf = ancestorIndex(byKey);

  const conversation = describeConversation(spans, options.now);
  const attemptIndex = groupAttempts(spans, ancestorsOf);
  const { httpCalls, callIdOfServer, boundaryRoute } = matchHttpCalls(spans);
  const { messagesById, sends } = indexMessages(spans, ancestorsOf, attemptIndex, callIdOfServer);
  const blobOperations = indexBlobOperations(spans, ancestorsOf, attemptIndex);
  const messages = [...messagesById.values()].sort((a, b) => a.firstMs - b.firstMs || (a.id < b.id ? -1 : 1));
  const edges = buildCausationEdges(messages, messagesById, attemptIndex.attempts, sends);
  const gaps = findEvidenceGaps(spans, byKey, attemptIndex.attempts);
  let quietUntilMs = conversation.endMs + options.quietPeriodMs;
  for (const message of messages) {
    message.quietUntilMs = quietUntilOf(message, options);
    quietUntilMs = Math.max(quietUntilMs, message.quietUntilMs);
  }
  const active = options.now < quietUntilMs;
  for (const message of messages) message.status = statusOf(message, active);

  return {
    ...conversation,
    spanCount: spans.length,
    now: options.now,
    quietPeriodMs: options.quietPeriodMs,
    active,
    quietUntilMs,
    gaps,
    exportLosses: options.exportLosses ?? [],
    entryLosses: options.entryLosses ?? (options.exportLosses ?? []).map((loss) => ({ ...loss, messageId: null })),
    exportedUntil: options.exportedUntil ?? new Map(),
    subscriptions: options.subscriptions,
    stuckOutboxAfterMs: options.stuckOutboxAfterMs ?? DEFAULT_STUCK_OUTBOX_AFTER_MS,
    messages,
    messagesById,
    httpCalls,
    callerOfCall: callersByTree(httpCalls, byKey, ancestorsOf, attemptIndex),
    blobOperations,
    edges,
    boundaryRoute,
    rootSpanName: spans[0]?.name ?? '',
  };
}
