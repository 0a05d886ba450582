/**
 * Onceflow's propagator: W3C trace context and baggage, plus the `onceflow-*` headers.
 *
 * Inject writes, for a producer span, the identity of the message it sends; for any other
 * span inside a scope (an HTTP client call made while handling a message or a request), the
 * conversation, the causation id and the inherited idempotency key. Conversation and
 * causation also go into W3C baggage. Extract reads them back into the context
 * (`REMOTE_IDENTITY_KEY`), where the span processor opens a scope for the entry span.
 *
 * It replaces the default propagator as a whole (it includes W3C trace context and baggage),
 * so only one propagator writes the `baggage` header.
 */
import {
  propagation,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { setIdentityAttributes } from './attributes.js';
import { guard } from './guard.js';
import { identityHeaders, readIdentityHeaders, type PartialIdentity } from './identity.js';
import { REMOTE_IDENTITY_KEY, scopeOf, sendOfSpan, type SendRecord } from './scope.js';
import {
  BAGGAGE_CAUSATION_ID,
  BAGGAGE_CONVERSATION_ID,
  HEADER_CAUSATION_ID,
  HEADER_CONVERSATION_ID,
  HEADER_IDEMPOTENCY_KEY,
  HEADER_PAYLOAD_BYTES,
  HEADER_PAYLOAD_REF,
  ONCEFLOW_HEADERS,
} from './semconv.js';

interface Outgoing {
  headers: Record<string, string>;
  conversationId: string;
  causationId?: string;
}

export class OnceflowPropagator implements TextMapPropagator {
  private readonly traceContext = new W3CTraceContextPropagator();
  private readonly baggage = new W3CBaggagePropagator();

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    this.traceContext.inject(ctx, carrier, setter);
    const outgoing = guard('propagator (inject)', () => outgoingFor(ctx, carrier), undefined);
    this.baggage.inject(outgoing ? withOnceflowBaggage(ctx, outgoing) : ctx, carrier, setter);
    if (!outgoing) return;
    for (const [key, value] of Object.entries(outgoing.headers)) setter.set(carrier, key, value);
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    let extracted = this.traceContext.extract(ctx, carrier, getter);
    extracted = this.baggage.extract(extracted, carrier, getter);
    const remote = guard('propagator (extract)', () => remoteIdentity(extracted, carrier, getter), undefined);
    return remote ? extracted.setValue(REMOTE_IDENTITY_KEY, remote) : extracted;
  }

  fields(): string[] {
    return [...this.traceContext.fields(), ...this.baggage.fields(), ...ONCEFLOW_HEADERS];
  }
}

export function onceflowPropagator(): TextMapPropagator {
  return new OnceflowPropagator();
}

function outgoingFor(ctx: Context, carrier: unknown): Outgoing | undefined {
  const span = trace.getSpan(ctx);
  const send = sendOfSpan(span);
  if (send && span) return outgoingForSend(send, span, carrier);
  const scope = scopeOf(ctx);
  if (!scope) return undefined;
  const headers: Record<string, string> = { [HEADER_CONVERSATION_ID]: scope.conversationId };
  if (scope.outgoingCausationId) headers[HEADER_CAUSATION_ID] = scope.outgoingCausationId;
  if (scope.outgoingIdempotencyKey) headers[HEADER_IDEMPOTENCY_KEY] = scope.outgoingIdempotencyKey;
  return { headers, conversationId: scope.conversationId, causationId: scope.outgoingCausationId };
}

/**
 * A message being sent. `onceflow-*` headers the application already put on it win (a
 * resend keeps its id, a retry its attempt number); the rest come from the send's identity.
 */
function outgoingForSend(send: SendRecord, span: Span, carrier: unknown): Outgoing {
  const preset = presetIdentity(carrier);
  send.preset = preset;
  if (Object.keys(preset).length > 0) {
    const before = send.identity.messageId;
    send.identity = { ...send.identity, ...preset };
    if (send.scope && before !== send.identity.messageId) {
      const i = send.scope.outgoing.lastIndexOf(before);
      if (i >= 0) send.scope.outgoing[i] = send.identity.messageId;
    }
    setIdentityAttributes(span, send.identity);
  }
  const headers = identityHeaders(send.identity);
  if (send.payload) {
    headers[HEADER_PAYLOAD_REF] = send.payload.ref;
    headers[HEADER_PAYLOAD_BYTES] = String(send.payload.bytes);
  }
  for (const key of Object.keys(headers)) {
    if (hasKey(carrier, key)) delete headers[key];
  }
  return { headers, conversationId: send.identity.conversationId, causationId: send.identity.causationId };
}

function presetIdentity(carrier: unknown): PartialIdentity {
  if (typeof carrier !== 'object' || carrier === null || Array.isArray(carrier)) return {};
  return readIdentityHeaders(carrier as Record<string, unknown>);
}

function hasKey(carrier: unknown, key: string): boolean {
  return typeof carrier === 'object' && carrier !== null && (carrier as Record<string, unknown>)[key] !== undefined;
}

function withOnceflowBaggage(ctx: Context, outgoing: Outgoing): Context {
  let bag = (propagation.getBaggage(ctx) ?? propagation.createBaggage()).setEntry(BAGGAGE_CONVERSATION_ID, {
    value: outgoing.conversationId,
  });
  bag = outgoing.causationId
    ? bag.setEntry(BAGGAGE_CAUSATION_ID, { value: outgoing.causationId })
    : bag.removeEntry(BAGGAGE_CAUSATION_ID);
  return propagation.setBaggage(ctx, bag);
}

function remoteIdentity(ctx: Context, carrier: unknown, getter: TextMapGetter): PartialIdentity | undefined {
  const headers: Record<string, unknown> = {};
  for (const key of ONCEFLOW_HEADERS) headers[key] = getter.get(carrier, key);
  const remote = readIdentityHeaders(headers);
  const bag = propagation.getBaggage(ctx);
  if (!remote.conversationId) {
    const value = bag?.getEntry(BAGGAGE_CONVERSATION_ID)?.value;
    if (value) remote.conversationId = value;
  }
  if (!remote.causationId) {
    const value = bag?.getEntry(BAGGAGE_CAUSATION_ID)?.value;
    if (value) remote.causationId = value;
  }
  return Object.keys(remote).length > 0 ? remote : undefined;
}

