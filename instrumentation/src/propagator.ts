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
  SpanKind,
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
import { readBaggageHeader, writeBaggageHeader } from './baggage.js';
import { guard } from './guard.js';
import { isHooked } from './hooked.js';
import { identityHeaders, readIdentityHeaders, type PartialIdentity } from './identity.js';
import { REMOTE_IDENTITY_KEY, scopeOf, sendOfSpan, type RemoteIdentity, type SendRecord } from './scope.js';
import {
  BAGGAGE_CAUSATION_ID,
  BAGGAGE_CONVERSATION_ID,
  HEADER_CAUSATION_ID,
  HEADER_CONVERSATION_ID,
  HEADER_IDEMPOTENCY_KEY,
  HEADER_MESSAGE_ID,
  HEADER_PAYLOAD_BYTES,
  HEADER_PAYLOAD_REF,
  ONCEFLOW_HEADERS,
} from './semconv.js';

const BAGGAGE_HEADER = 'baggage';

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
    if (!outgoing) {
      this.baggage.inject(ctx, carrier, setter);
      return;
    }
    if (propagation.getBaggage(ctx)) this.baggage.inject(withOnceflowBaggage(ctx, outgoing), carrier, setter);
    else setter.set(carrier, BAGGAGE_HEADER, writeBaggageHeader(undefined, outgoing));
    for (const key in outgoing.headers) setter.set(carrier, key, outgoing.headers[key]);
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    let extracted = this.traceContext.extract(ctx, carrier, getter);
    extracted = this.extractBaggage(extracted, carrier, getter);
    const carries = guard('propagator (extract)', () => carriesIdentity(carrier, getter), false);
    if (!carries) return extracted;
    // Read lazily: entry spans of instrumentations with Onceflow's hooks read the headers themselves.
    let remote: PartialIdentity | undefined;
    const read: RemoteIdentity = () => (remote ??= guard('propagator (extract)', () => remoteIdentity(carrier, getter), {}));
    return extracted.setValue(REMOTE_IDENTITY_KEY, read);
  }

  /**
   * W3C baggage minus Onceflow's own entries: those are read from the carrier when needed and
   * rewritten on every send, so keeping them out of the context saves merging them back in.
   */
  private extractBaggage(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const header = getter.get(carrier, BAGGAGE_HEADER);
    if (header === undefined) return ctx;
    if (typeof header === 'string' && onlyOnceflowEntries(header)) return ctx;
    const extracted = this.baggage.extract(ctx, carrier, getter);
    const bag = propagation.getBaggage(extracted);
    if (!bag || (bag.getEntry(BAGGAGE_CONVERSATION_ID) === undefined && bag.getEntry(BAGGAGE_CAUSATION_ID) === undefined)) return extracted;
    const rest = bag.removeEntries(BAGGAGE_CONVERSATION_ID, BAGGAGE_CAUSATION_ID);
    return rest.getAllEntries().length > 0 ? propagation.setBaggage(extracted, rest) : propagation.deleteBaggage(extracted);
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
  // A publish of an instrumentation with Onceflow's hooks (amqplib): its hook stamps the
  // headers and baggage itself, after reconciling with the message's own properties.
  if ((span as { kind?: SpanKind } | undefined)?.kind === SpanKind.PRODUCER && isHooked(span)) return undefined;
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
  bag = outgoing.causationId ? bag.setEntry(BAGGAGE_CAUSATION_ID, { value: outgoing.causationId }) : bag.removeEntry(BAGGAGE_CAUSATION_ID);
  return propagation.setBaggage(ctx, bag);
}

function onlyOnceflowEntries(header: string): boolean {
  let start = 0;
  while (start < header.length) {
    while (header.charCodeAt(start) === 32) start++;
    if (!startsWithKey(header, start, BAGGAGE_CONVERSATION_ID) && !startsWithKey(header, start, BAGGAGE_CAUSATION_ID)) return false;
    const comma = header.indexOf(',', start);
    if (comma < 0) return true;
    start = comma + 1;
  }
  return true;
}

function startsWithKey(header: string, at: number, key: string): boolean {
  if (!header.startsWith(key, at)) return false;
  const next = header.charCodeAt(at + key.length);
  return next === 61 /* = */ || next === 32; /* space */
}

function baggageOf(carrier: unknown, getter: TextMapGetter): string | undefined {
  const value = getter.get(carrier, BAGGAGE_HEADER);
  return Array.isArray(value) ? value.join(',') : value;
}

function carriesIdentity(carrier: unknown, getter: TextMapGetter): boolean {
  if (getter.get(carrier, HEADER_CONVERSATION_ID) !== undefined || getter.get(carrier, HEADER_MESSAGE_ID) !== undefined) return true;
  return baggageOf(carrier, getter)?.includes(BAGGAGE_CONVERSATION_ID) === true;
}

function remoteIdentity(carrier: unknown, getter: TextMapGetter): PartialIdentity {
  const headers: Record<string, unknown> = {};
  for (const key of ONCEFLOW_HEADERS) headers[key] = getter.get(carrier, key);
  const remote = readIdentityHeaders(headers);
  if (!remote.conversationId) {
    const fromBaggage = readBaggageHeader(baggageOf(carrier, getter));
    if (fromBaggage.conversationId) remote.conversationId = fromBaggage.conversationId;
    if (!remote.causationId && fromBaggage.causationId) remote.causationId = fromBaggage.causationId;
  }
  return remote;
}
