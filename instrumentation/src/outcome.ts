/**
 * The explicit API for what instrumentation cannot see: how a processing attempt ended, and
 * claim-check payloads. Each call acts on the attempt of the active context (the consumer
 * span of the message being handled, or the server span of a request) and does nothing
 * outside one.
 */
import { SpanStatusCode, trace, context } from '@opentelemetry/api';
import { setOffloadAttributes } from './attributes.js';
import { describeError, guard, warnOnce } from './guard.js';
import { currentScope, sendOfSpan, type Scope } from './scope.js';
import {
  ATTR_COMMITTED_AT_MS,
  ATTR_OUTCOME,
  ATTR_OUTCOME_REASON,
  ATTR_OUTGOING_MESSAGE_IDS,
  ATTR_PAYLOAD_BYTES,
  ATTR_PAYLOAD_FETCHED,
  ATTR_PAYLOAD_REF,
  ATTR_RETRY_DELAY_MS,
  EVENT_PAYLOAD_OFFLOAD,
  type Outcome,
} from './semconv.js';

function withAttempt(name: string, fn: (scope: Scope) => void): void {
  guard(name, () => {
    const scope = currentScope();
    if (!scope) return;
    if (!scope.span.isRecording()) {
      warnOnce(
        `ended:${name}`,
        `${name} was called after the attempt's span ended (e.g. after ack); the outcome is not recorded. Call it before acknowledging the message.`,
      );
      return;
    }
    fn(scope);
  });
}

function setOutcome(scope: Scope, outcome: Outcome, reason?: string): void {
  scope.outcome = outcome;
  scope.span.setAttribute(ATTR_OUTCOME, outcome);
  if (reason) scope.span.setAttribute(ATTR_OUTCOME_REASON, reason);
}

function recordError(scope: Scope, error: unknown): void {
  if (error instanceof Error) scope.span.recordException(error);
  else if (error !== undefined) scope.span.recordException(describeError(error));
  scope.span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
}

/** Records the commit time once: the first of `markCommitted` / `markProcessed` wins. */
function recordCommit(scope: Scope): void {
  if (scope.committedAtMs !== undefined) return;
  scope.committedAtMs = Date.now();
  scope.span.setAttribute(ATTR_COMMITTED_AT_MS, scope.committedAtMs);
}

/**
 * The attempt's transaction committed, now. Call it right after the commit when the outcome is
 * reported later (e.g. after dispatching the outbox): sends of the attempt before this time
 * are premature publishes. Without it, `markProcessed` records the commit time.
 */
export function markCommitted(): void {
  withAttempt('markCommitted', recordCommit);
}

/**
 * The attempt committed (call it after the commit; it records the commit time unless
 * `markCommitted` did). `outgoingMessageIds`: the messages it produced (default: those it
 * sent or recorded with `outboxMessage`/`recordOutgoing`).
 */
export function markProcessed(outgoingMessageIds?: string[]): void {
  withAttempt('markProcessed', (scope) => {
    recordCommit(scope);
    setOutcome(scope, 'processed');
    if (outgoingMessageIds) {
      scope.outgoingListed = true;
      scope.span.setAttribute(ATTR_OUTGOING_MESSAGE_IDS, outgoingMessageIds.slice());
    }
  });
}

/** The message was recognised as already processed and skipped. */
export function markDuplicate(reason?: string): void {
  withAttempt('markDuplicate', (scope) => setOutcome(scope, 'duplicate', reason));
}

/** The attempt failed and did not commit. */
export function markFailed(error: unknown): void {
  withAttempt('markFailed', (scope) => {
    setOutcome(scope, 'failed', describeError(error));
    recordError(scope, error);
  });
}

/** The attempt failed; the message will be tried again after `delayMs`. */
export function markRetryScheduled(delayMs: number, error?: unknown): void {
  withAttempt('markRetryScheduled', (scope) => {
    setOutcome(scope, 'retry_scheduled', error === undefined ? undefined : describeError(error));
    scope.span.setAttribute(ATTR_RETRY_DELAY_MS, delayMs);
    if (error !== undefined) recordError(scope, error);
  });
}

/** The message was given up on and moved to the dead-letter queue. */
export function markDeadLettered(reason?: string): void {
  withAttempt('markDeadLettered', (scope) => setOutcome(scope, 'dead_lettered', reason));
}

/**
 * A message body was moved to a blob store (claim check). Inside a send (`withSend`, a
 * producer span) it is recorded on that send; otherwise on the next message the current
 * attempt sends, and as an event on the attempt.
 */
export function recordPayloadOffload(p: { ref: string; bytes: number }): void {
  guard('recordPayloadOffload', () => {
    const span = trace.getSpan(context.active());
    const send = sendOfSpan(span);
    if (span && send) {
      send.payload = { ...p };
      setOffloadAttributes(span, p);
      return;
    }
    const scope = currentScope();
    if (!scope) return;
    scope.pendingOffload = { ...p };
    scope.span.addEvent(EVENT_PAYLOAD_OFFLOAD, { [ATTR_PAYLOAD_REF]: p.ref, [ATTR_PAYLOAD_BYTES]: p.bytes });
  });
}

/** An offloaded body was read back by the current attempt. */
export function recordPayloadFetch(p: { ref: string; bytes: number }): void {
  withAttempt('recordPayloadFetch', (scope) => {
    scope.span.setAttribute(ATTR_PAYLOAD_FETCHED, true);
    scope.span.setAttribute(ATTR_PAYLOAD_REF, p.ref);
    scope.span.setAttribute(ATTR_PAYLOAD_BYTES, p.bytes);
  });
}

/** Outcome recorded so far for the current attempt (for hooks deciding a default). */
export function currentOutcome(): Outcome | undefined {
  return currentScope()?.outcome;
}

export { setOutcome, recordError };
