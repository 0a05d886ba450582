/**
 * `withSend` / `withHandle`: Onceflow spans for a transport no OpenTelemetry instrumentation
 * covers (a PostgreSQL-table queue, an in-process bus). The send is a producer span whose
 * headers the application puts on the message; the handle is a consumer span, parented by
 * and linked to the producer's context, inside which the handled message is the current
 * scope (nested sends inherit conversation and causation).
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { setCarriedOffload, setIdentityAttributes, setOffloadAttributes } from './attributes.js';
import { describeError, guard } from './guard.js';
import { headerString, identityHeaders, incomingIdentity, lowerCaseKeys, newId, readIdentityHeaders } from './identity.js';
import { PENDING_SEND_KEY, currentScope, newMessageScope, outgoingFrom, recordSend, scopeOfSpan, sendOfSpan } from './scope.js';
import {
  ATTR_MESSAGING_BODY_SIZE,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  HEADER_PAYLOAD_BYTES,
  HEADER_PAYLOAD_REF,
} from './semconv.js';
import { onceflowTracer } from './tracer.js';
import type { MessageIdentity } from './types.js';
import { readBaggageHeader } from './baggage.js';
import { recordError, setOutcome } from './outcome.js';
import { setBodyDigest } from './body-digest.js';
import { setEndpoint } from './endpoint.js';
import { markOutboxDispatch } from './outbox.js';

export interface SendMeta {
  /** `messaging.system`, e.g. `onceflow-pgqueue`. */
  system: string;
  destination: string;
  messageType: string;
  /** Default: minted (pass a deterministic one from an outbox). */
  messageId?: string;
  /** Default: the current scope's, else the message id (pass the one stored with an outbox row). */
  conversationId?: string;
  /** Default: the message handled in the current scope (pass the one stored with an outbox row). */
  causationId?: string;
  idempotencyKey?: string;
  /** Attempt number to carry (an application-level retry resending the message). */
  attempt?: number;
  /** Default: the scope's (`setBusinessKey`, or the handled message's). */
  businessKey?: string;
  payload?: { bytes: number; ref?: string; offloaded?: boolean };
  /** The bytes sent (a string as UTF-8): only their digest is recorded (`onceflow.body_digest`), never the body. */
  body?: string | Uint8Array;
}

export interface HandleMeta {
  system: string;
  destination: string;
  headers: Record<string, string | undefined>;
  /** Delivery attempt, 1-based; default: the `onceflow-attempt` header (+1 when `redelivered`). */
  attempt?: number;
  redelivered?: boolean;
  /** Fallbacks for a message that carries no `onceflow-*` headers. */
  messageType?: string;
  messageId?: string;
  /** The endpoint that handles it (`onceflow.endpoint`); default `service.name` + `/` + `destination`. */
  endpoint?: string;
}

const headerGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return value === undefined || value === null ? undefined : (headerString(value) as string | undefined);
  },
};

/**
 * Sends one message under a producer span. `send` receives the headers to put on the message
 * (`onceflow-*`, `traceparent`, `baggage`) and the identity they carry.
 */
export async function withSend<T>(
  meta: SendMeta,
  send: (headers: Record<string, string>, identity: MessageIdentity) => Promise<T>,
): Promise<T> {
  const prepared = guard('withSend', () => prepareSend(meta), undefined);
  if (!prepared) {
    // Onceflow failed: the message still goes out, with identity headers only.
    const identity = outgoingFrom(undefined, meta).identity;
    return send(identityHeaders(identity), identity);
  }
  const { span, headers, identity } = prepared;
  try {
    return await context.with(trace.setSpan(context.active(), span), () => send(headers, identity));
  } catch (error) {
    guard('withSend', () => {
      span.recordException(error instanceof Error ? error : describeError(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
    });
    throw error;
  } finally {
    span.end();
  }
}

function prepareSend(meta: SendMeta): { span: Span; headers: Record<string, string>; identity: MessageIdentity } {
  const scope = currentScope();
  const { identity } = outgoingFrom(scope, meta);
  if (meta.attempt !== undefined) identity.attempt = meta.attempt;
  const parent = context.active();
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM]: meta.system,
    [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
    [ATTR_MESSAGING_DESTINATION_NAME]: meta.destination,
  };
  if (meta.payload) attributes[ATTR_MESSAGING_BODY_SIZE] = meta.payload.bytes;
  else if (meta.body !== undefined)
    attributes[ATTR_MESSAGING_BODY_SIZE] = typeof meta.body === 'string' ? Buffer.byteLength(meta.body) : meta.body.byteLength;
  const span = onceflowTracer().startSpan(
    `send ${meta.destination}`,
    { kind: SpanKind.PRODUCER, attributes },
    parent.setValue(PENDING_SEND_KEY, identity),
  );
  // Without Onceflow's span processor (a user's own SDK) the span has no send record yet.
  let send = sendOfSpan(span);
  if (!send) {
    send = recordSend(span, scope, identity, scope !== undefined);
    setIdentityAttributes(span, identity);
    markOutboxDispatch(span, parent);
  }
  setBodyDigest(span, meta.body);
  const offload =
    meta.payload?.ref && meta.payload.offloaded !== false ? { ref: meta.payload.ref, bytes: meta.payload.bytes } : send.payload;
  if (offload) {
    send.payload = offload;
    setOffloadAttributes(span, offload);
  }
  const headers = identityHeaders(identity);
  if (offload) {
    headers[HEADER_PAYLOAD_REF] = offload.ref;
    headers[HEADER_PAYLOAD_BYTES] = String(offload.bytes);
  }
  propagation.inject(trace.setSpan(parent, span), headers);
  return { span, headers, identity };
}

/**
 * Handles one received message under a consumer span. While `handle` runs, the message is
 * the current scope. If `handle` throws and no outcome was recorded, the outcome is `failed`.
 */
export async function withHandle<T>(meta: HandleMeta, handle: (message: MessageIdentity) => Promise<T>): Promise<T> {
  const prepared = guard('withHandle', () => prepareHandle(meta), undefined);
  if (!prepared) {
    const id = newId();
    return handle(guard('withHandle', () => fallbackIdentity(meta), { messageId: id, conversationId: id }));
  }
  const { span, ctx, message } = prepared;
  try {
    return await context.with(ctx, () => handle({ ...message }));
  } catch (error) {
    guard('withHandle', () => {
      const scope = scopeOfSpan(span);
      if (scope && !scope.outcome) setOutcome(scope, 'failed', describeError(error));
      if (scope) recordError(scope, error);
    });
    throw error;
  } finally {
    span.end();
  }
}

function fallbackIdentity(meta: HandleMeta): MessageIdentity {
  const found = readIdentityHeaders(lowerCaseKeys(meta.headers));
  const messageId = found.messageId ?? meta.messageId ?? 'unknown';
  return { ...found, messageId, conversationId: found.conversationId ?? messageId };
}

function prepareHandle(meta: HandleMeta): { span: Span; ctx: Context; message: MessageIdentity } {
  const headers = lowerCaseKeys(meta.headers);
  const found = readIdentityHeaders(headers);
  const message = incomingIdentity(found, found.conversationId ? {} : readBaggageHeader(headerString(headers.baggage)), {
    messageId: meta.messageId,
    messageType: meta.messageType,
    redeliveries: meta.redelivered ? 1 : 0,
    mintId: newId,
  });
  if (meta.attempt !== undefined) message.attempt = meta.attempt;

  const producer = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  const producerSpan = trace.getSpanContext(producer);
  const links: Link[] = producerSpan && trace.isSpanContextValid(producerSpan) ? [{ context: producerSpan }] : [];
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM]: meta.system,
    [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
    [ATTR_MESSAGING_DESTINATION_NAME]: meta.destination,
  };
  const span = onceflowTracer().startSpan(`${meta.destination} process`, { kind: SpanKind.CONSUMER, attributes, links }, producer);
  newMessageScope(span, message);
  setIdentityAttributes(span, message);
  setEndpoint(span, meta.endpoint, meta.destination);
  setCarriedOffload(span, headers);
  return { span, ctx: trace.setSpan(producer, span), message };
}
