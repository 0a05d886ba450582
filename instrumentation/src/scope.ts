/**
 * Where Onceflow keeps what it knows about the work in progress, reachable from the
 * OpenTelemetry context.
 *
 * A *scope* is one processing attempt of a message (a consumer span) or one HTTP request a
 * service serves (a server span). It is registered on the span that opened it; the
 * span processor registers every span started beneath it against the same scope, so from
 * any active context `scopeOf(context)` finds the attempt through `trace.getSpan(context)`.
 * This works whatever the instrumentation did to the context (instrumentation-amqplib with
 * `useLinksForConsume` activates a context holding only the consume span), because the
 * active span is always there.
 *
 * A *send* is one outgoing message (a producer span) and the identity it carries.
 */
import { context, createContextKey, trace, type Context, type Span } from '@opentelemetry/api';
import { newId } from './identity.js';
import { ATTR_MESSAGING_CONVERSATION_ID, type Outcome } from './semconv.js';
import type { MessageIdentity } from './types.js';

export interface Scope {
  kind: 'message' | 'request';
  /** The span outcomes are recorded on: the consumer span, or the HTTP server span. */
  span: Span;
  /** The message being handled (kind `message`). */
  message?: MessageIdentity;
  conversationId: string;
  /** Causation id for messages sent from here: the handled message, or the request's inherited one. */
  outgoingCausationId?: string;
  /** Idempotency key inherited by messages sent from here (an HTTP request's `Idempotency-Key`). */
  outgoingIdempotencyKey?: string;
  outcome?: Outcome;
  /** When the attempt committed (epoch ms), once `markCommitted` or `markProcessed` recorded it. */
  committedAtMs?: number;
  /**
   * Business key carried by messages sent from here: set with `setBusinessKey`, or inherited
   * from the handled message.
   */
  businessKey?: string;
  /** The application listed the produced message ids itself (`markProcessed(ids)`). */
  outgoingListed: boolean;
  /** Message ids sent during this attempt (or stored in its outbox, `recordOutgoing`), in order. */
  outgoing: string[];
  /** A payload offload recorded before the send it belongs to. */
  pendingOffload?: { ref: string; bytes: number };
}

export interface SendRecord {
  identity: MessageIdentity;
  /** The conversation came from the enclosing scope (not minted for this send). */
  inheritedConversation: boolean;
  scope: Scope | undefined;
  /** Claim check of this message's body, when it was offloaded. */
  payload?: { ref: string; bytes: number };
}

// Kept on the span object itself under private symbols (as instrumentation-amqplib keeps
// its span on the message): cheaper than a WeakMap on the per-message path, and collected
// with the span.
const SCOPE = Symbol('onceflow.scope');
const SEND = Symbol('onceflow.send');
type Carrying = { [SCOPE]?: Scope; [SEND]?: SendRecord };

/** Context key for an identity `withSend` wants the producer span to carry. */
export const PENDING_SEND_KEY = createContextKey('onceflow.pending-send');
/** Context key set by `withOutboxDispatch`: sends started under it dispatch an outbox after commit. */
export const OUTBOX_DISPATCH_KEY = createContextKey('onceflow.outbox-dispatch');
/** Context key for the identity the propagator extracted from incoming headers (read on demand). */
export const REMOTE_IDENTITY_KEY = createContextKey('onceflow.remote-identity');
export type RemoteIdentity = () => Partial<MessageIdentity>;

export function registerScope(span: Span, scope: Scope): void {
  (span as Carrying)[SCOPE] = scope;
}

export function scopeOfSpan(span: Span | undefined): Scope | undefined {
  return span ? (span as Carrying)[SCOPE] : undefined;
}

export function scopeOf(ctx: Context): Scope | undefined {
  return scopeOfSpan(trace.getSpan(ctx));
}

export function currentScope(): Scope | undefined {
  return scopeOf(context.active());
}

export function registerSend(span: Span, record: SendRecord): void {
  (span as Carrying)[SEND] = record;
}

/**
 * Registers `span` as the send of a message from `scope`: the attempt counts it among what it
 * sent, and an offload recorded before the send is attached to it.
 */
export function recordSend(span: Span, scope: Scope | undefined, identity: MessageIdentity, inheritedConversation: boolean): SendRecord {
  const record: SendRecord = { identity, inheritedConversation, scope, payload: scope?.pendingOffload };
  if (scope) {
    scope.pendingOffload = undefined;
    scope.outgoing.push(identity.messageId);
  }
  registerSend(span, record);
  return record;
}

export function sendOfSpan(span: Span | undefined): SendRecord | undefined {
  return span ? (span as Carrying)[SEND] : undefined;
}

export function newMessageScope(span: Span, message: MessageIdentity): Scope {
  const scope: Scope = {
    kind: 'message',
    span,
    message,
    conversationId: message.conversationId,
    outgoingCausationId: message.messageId,
    businessKey: message.businessKey,
    outgoingListed: false,
    outgoing: [],
  };
  registerScope(span, scope);
  return scope;
}

export function newRequestScope(span: Span, fields: { conversationId: string; causationId?: string; idempotencyKey?: string }): Scope {
  const scope: Scope = {
    kind: 'request',
    span,
    conversationId: fields.conversationId,
    outgoingCausationId: fields.causationId,
    outgoingIdempotencyKey: fields.idempotencyKey,
    outgoingListed: false,
    outgoing: [],
  };
  registerScope(span, scope);
  span.setAttribute(ATTR_MESSAGING_CONVERSATION_ID, fields.conversationId);
  return scope;
}

/** Identity of the message being handled in the active context; undefined outside a handler. */
export function currentMessage(): MessageIdentity | undefined {
  const message = currentScope()?.message;
  return message ? { ...message } : undefined;
}

/** The conversation of the active context (a handled message's or an HTTP request's). */
export function currentConversationId(): string | undefined {
  return currentScope()?.conversationId;
}

/** What an application may name itself on a message it is about to send. */
export interface OutgoingFields {
  messageType?: string;
  messageId?: string;
  idempotencyKey?: string;
  /** Default: the scope's (`setBusinessKey`, or the handled message's). */
  businessKey?: string;
}

/**
 * Identity for a message about to be sent from the active context: the conversation is
 * inherited (a new one starts outside any scope), the causation is the handled message's id,
 * and the message id is minted unless given.
 */
export function outgoingIdentity(o: OutgoingFields = {}): MessageIdentity {
  return outgoingFrom(currentScope(), o).identity;
}

export function outgoingFrom(
  scope: Scope | undefined,
  o: OutgoingFields & { conversationId?: string; causationId?: string },
): { identity: MessageIdentity; inheritedConversation: boolean } {
  const messageId = o.messageId ?? newId();
  // Outside any scope this message is the boundary: its id names the conversation, so a
  // resend with the same (deterministic) id stays in the same flow.
  const identity: MessageIdentity = { messageId, conversationId: o.conversationId ?? scope?.conversationId ?? messageId };
  const causationId = o.causationId ?? scope?.outgoingCausationId;
  if (causationId) identity.causationId = causationId;
  if (o.messageType) identity.messageType = o.messageType;
  const idempotencyKey = o.idempotencyKey ?? scope?.outgoingIdempotencyKey;
  if (idempotencyKey) identity.idempotencyKey = idempotencyKey;
  const businessKey = o.businessKey ?? scope?.businessKey;
  if (businessKey) identity.businessKey = businessKey;
  return { identity, inheritedConversation: o.conversationId === undefined && scope !== undefined };
}
