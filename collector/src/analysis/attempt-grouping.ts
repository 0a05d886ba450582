/**
 * Conversation model step: fold the nested spans of one attempt (same service, same message)
 * into the outermost span, and merge each group into one `AttemptModel`.
 */
import type { Outcome } from '@onceflow/instrumentation/semconv';
import type { Delivery } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import type { AttemptModel } from './conversation-types.js';
import { endMsOf, errorOf, isAttemptSpan, isFailedOutcome, isRedelivered, retryDelayOf, startMsOf } from '../model/span-roles.js';
import { committedAtMsOf, declaredEndpointOf, derivedEndpoint } from './span-markers.js';
import type { AncestorLookup } from './span-tree.js';

export interface AttemptIndex {
  /** Every attempt, in time order. */
  attempts: AttemptModel[];
  /** The spans folded into each attempt, by the attempt's outermost span. */
  groups: Map<SpanRow, SpanRow[]>;
  /** The attempt a span belongs to (an attempt span or one nested in it). */
  attemptOfSpan: (span: SpanRow | null) => AttemptModel | null;
}

/** Merges an attempt's spans into one attempt; `root` is the outermost. */
function buildAttempt(root: SpanRow, group: SpanRow[]): AttemptModel {
  let outcome: Outcome | '' = '';
  let outcomeEndMs = -Infinity;
  let attemptNo = 0;
  let statusError = false;
  let retryDelayMs: number | null = null;
  let redelivered = false;
  let messageId = '';
  let messageType = '';
  let declaredEndpoint = '';
  let committedAtMs: number | null = null;
  const outgoing = new Set<string>();
  for (const span of group) {
    // The final verdict is the outcome recorded last.
    if (span.outcome !== '' && endMsOf(span) >= outcomeEndMs) {
      outcome = span.outcome;
      outcomeEndMs = endMsOf(span);
    }
    attemptNo = Math.max(attemptNo, span.attempt);
    statusError ||= span.statusCode === 'error';
    retryDelayMs ??= retryDelayOf(span);
    redelivered ||= isRedelivered(span);
    messageId ||= span.messageId;
    messageType ||= span.messageType;
    declaredEndpoint ||= declaredEndpointOf(span);
    committedAtMs ??= committedAtMsOf(span);
    for (const id of span.outgoingMessageIds) outgoing.add(id);
  }
  // A recorded outcome is trusted over the span status: `processed` means committed.
  const failed = outcome !== '' ? isFailedOutcome(outcome) : statusError;
  const effective: Outcome = outcome !== '' ? outcome : statusError ? 'failed' : 'processed';
  let error = '';
  if (failed || statusError) {
    for (const span of group) {
      error = errorOf(span);
      if (error) break;
    }
  }
  const startMs = startMsOf(root);
  const destination = group.find((span) => span.destination)?.destination ?? '';
  const endpoint = declaredEndpoint || derivedEndpoint(root.service, destination);
  const delivery: Delivery = {
    service: root.service,
    destination,
    endpoint,
    attempt: attemptNo,
    outcome,
    startMs,
    durationMs: root.durationNs / 1e6,
    traceId: root.traceId,
    spanId: root.spanId,
    error,
    retryDelayMs,
    redelivered,
    committedAtMs,
  };
  return {
    span: root,
    messageId,
    messageType,
    service: root.service,
    endpoint,
    attempt: attemptNo,
    outcome,
    effective,
    failed,
    error,
    retryDelayMs,
    startMs,
    endMs: endMsOf(root),
    committedAtMs,
    outgoing: [...outgoing],
    delivery,
  };
}

/** Outermost attempt span of a span's attempt: nested attempt spans of the same service and message fold into it. */
function attemptRootFinder(ancestorsOf: AncestorLookup): (span: SpanRow) => SpanRow {
  const attemptRoot = new Map<SpanRow, SpanRow>();
  return (span) => {
    const cached = attemptRoot.get(span);
    if (cached) return cached;
    const chain: SpanRow[] = [];
    const onChain = new Set<SpanRow>();
    let current = span;
    let root: SpanRow;
    for (;;) {
      const known = attemptRoot.get(current);
      if (known) {
        root = known;
        break;
      }
      chain.push(current);
      onChain.add(current);
      const parent = ancestorsOf(current).attempt;
      const nested =
        parent !== null &&
        !onChain.has(parent) &&
        parent.service === current.service &&
        (current.messageId === '' || parent.messageId === '' || current.messageId === parent.messageId);
      if (!nested) {
        root = current;
        break;
      }
      current = parent;
    }
    for (const link of chain) attemptRoot.set(link, root);
    return root;
  };
}

/** Groups the (sorted) spans' attempt spans into attempts. */
export function groupAttempts(spans: SpanRow[], ancestorsOf: AncestorLookup): AttemptIndex {
  const rootOf = attemptRootFinder(ancestorsOf);
  const groups = new Map<SpanRow, SpanRow[]>();
  for (const span of spans) {
    if (!isAttemptSpan(span)) continue;
    const root = rootOf(span);
    const group = groups.get(root);
    if (group) group.push(span);
    else groups.set(root, [span]);
  }
  const byRoot = new Map<SpanRow, AttemptModel>();
  for (const [root, group] of groups) byRoot.set(root, buildAttempt(root, group));
  return {
    attempts: [...byRoot.values()].sort((a, b) => a.startMs - b.startMs),
    groups,
    attemptOfSpan: (span) => (span ? (byRoot.get(rootOf(span)) ?? null) : null),
  };
}
