/**
 * Carries Onceflow's scope from parent to child span: every span started inside a
 * processing attempt or a served request gets the conversation id and is registered against
 * the same scope (so the API finds the attempt from any nested context), and every producer
 * span gets the identity of the message it sends.
 *
 * It also numbers the spans it sees (`onceflow.export.stream` / `onceflow.export.seq`), so the
 * collector can tell a span lost on its way (a dropped batch, a full export queue) from one
 * that never existed; counts the entry spans among them (`onceflow.export.entries`) and names
 * on each entry span the messages of the few before (`onceflow.export.previous_entries`), so a
 * lost delivery span is known for whose delivery it was.
 *
 * It runs first among the span processors; it never exports anything itself.
 */
import { randomBytes } from 'node:crypto';
import { SpanKind, TraceFlags, type Context, type Span as ApiSpan } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { setIdentityAttributes, setOffloadAttributes } from './attributes.js';
import { reportHookError } from './guard.js';
import { isHooked } from './hooked.js';
import { newId, type PartialIdentity } from './identity.js';
import {
  PENDING_SEND_KEY,
  REMOTE_IDENTITY_KEY,
  newMessageScope,
  newRequestScope,
  outgoingFrom,
  registerScope,
  recordSend,
  scopeOf,
  scopeOfSpan,
  type RemoteIdentity,
  type Scope,
} from './scope.js';
import {
  ATTR_EXPORT_ENTRIES,
  ATTR_EXPORT_PREVIOUS_ENTRIES,
  ATTR_EXPORT_SEQ,
  ATTR_EXPORT_STREAM,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_OUTGOING_MESSAGE_IDS,
  PREVIOUS_ENTRIES_KEPT,
} from './semconv.js';
import { setEndpoint } from './endpoint.js';
import { markOutboxDispatch } from './outbox.js';
import type { MessageIdentity } from './types.js';

export class OnceflowSpanProcessor implements SpanProcessor {
  /** One stream per processor: a process that restarts (or a second provider) starts a new one. */
  private readonly stream = randomBytes(8).toString('hex');
  private seq = 0;
  private entries = 0;
  /** The stream's latest entry spans, latest first: their message ids are read when the next entry starts (set by then). */
  private lastEntries: Span[] = [];

  onStart(span: Span, parentContext: Context): void {
    try {
      // Only sampled spans are exported; numbering the others would read as losses.
      const numbered = (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
      if (numbered) this.number(span);
      startSpan(span, parentContext);
      if (numbered && isEntry(span)) this.lastEntries = [span, ...this.lastEntries.slice(0, PREVIOUS_ENTRIES_KEPT - 1)];
    } catch (error) {
      reportHookError('span processor (onStart)', error);
    }
  }

  private number(span: Span): void {
    this.seq += 1;
    span.setAttribute(ATTR_EXPORT_STREAM, this.stream);
    span.setAttribute(ATTR_EXPORT_SEQ, this.seq);
    if (isEntry(span)) {
      this.entries += 1;
      if (this.lastEntries.length > 0) span.setAttribute(ATTR_EXPORT_PREVIOUS_ENTRIES, this.lastEntries.map(messageIdOf));
    }
    span.setAttribute(ATTR_EXPORT_ENTRIES, this.entries);
  }

  onEnding(span: Span): void {
    try {
      endAttempt(span);
    } catch (error) {
      reportHookError('span processor (onEnding)', error);
    }
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export function onceflowSpanProcessor(): SpanProcessor {
  return new OnceflowSpanProcessor();
}

const messageIdOf = (span: Span) => {
  const id = span.attributes[ATTR_MESSAGING_MESSAGE_ID];
  return typeof id === 'string' ? id : '';
};

/** A span where work enters the process: a delivery or a served request (an attempt's span). */
const isEntry = (span: Span) => span.kind === SpanKind.CONSUMER || span.kind === SpanKind.SERVER;

function startSpan(span: Span, parentContext: Context): void {
  if (span.kind === SpanKind.CONSUMER || span.kind === SpanKind.SERVER) {
    // An entry span started from headers the propagator read (any instrumentation that
    // extracts through the global propagator): it opens its own scope.
    const remote = parentContext.getValue(REMOTE_IDENTITY_KEY) as RemoteIdentity | undefined;
    if (remote && !isHooked(span) && !scopeOf(parentContext)) {
      openRemoteScope(span, remote());
      if (span.kind === SpanKind.CONSUMER) setEndpoint(span, undefined, destinationOf(span));
      return;
    }
  }
  const scope = scopeOf(parentContext);
  if (span.kind === SpanKind.PRODUCER) markOutboxDispatch(span, parentContext);
  if (span.kind === SpanKind.PRODUCER && isHooked(span)) {
    // Its hook (amqplib publishHook) builds the identity from the message's own properties.
    if (scope) registerScope(span, scope);
    return;
  }
  if (scope) {
    registerScope(span, scope);
    span.setAttribute(ATTR_MESSAGING_CONVERSATION_ID, scope.conversationId);
  }
  if (span.kind === SpanKind.PRODUCER) startSend(span, parentContext, scope);
}

function openRemoteScope(span: ApiSpan, remote: PartialIdentity): void {
  if (remote.messageId) {
    const message: MessageIdentity = {
      ...remote,
      messageId: remote.messageId,
      conversationId: remote.conversationId ?? remote.messageId,
      attempt: remote.attempt ?? 1,
    };
    newMessageScope(span, message);
    setIdentityAttributes(span, message);
    return;
  }
  newRequestScope(span, {
    conversationId: remote.conversationId ?? newId(),
    causationId: remote.causationId,
    idempotencyKey: remote.idempotencyKey,
  });
}

function startSend(span: ApiSpan, parentContext: Context, scope: Scope | undefined): void {
  const pending = parentContext.getValue(PENDING_SEND_KEY) as MessageIdentity | undefined;
  const { identity, inheritedConversation } = pending
    ? { identity: pending, inheritedConversation: scope !== undefined && scope.conversationId === pending.conversationId }
    : outgoingFrom(scope, {});
  const { payload } = recordSend(span, scope, identity, inheritedConversation);
  setIdentityAttributes(span, identity);
  if (payload) setOffloadAttributes(span, payload);
}

/**
 * Before the attempt span ends: a processed attempt lists what it sent or stored in its outbox
 * (each id once: a stored row and its dispatch are one message), unless the app listed them.
 */
function endAttempt(span: Span): void {
  const scope = scopeOfSpan(span);
  if (!scope || scope.span !== span) return;
  if (scope.outcome === 'processed' && !scope.outgoingListed && scope.outgoing.length > 0) {
    span.setAttribute(ATTR_OUTGOING_MESSAGE_IDS, [...new Set(scope.outgoing)]);
  }
}

/** The destination another instrumentation put on its consumer span at start, if any. */
function destinationOf(span: Span): string | undefined {
  const value = span.attributes[ATTR_MESSAGING_DESTINATION_NAME];
  return typeof value === 'string' ? value : undefined;
}
