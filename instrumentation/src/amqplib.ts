/**
 * RabbitMQ through `@opentelemetry/instrumentation-amqplib`'s hooks.
 *
 * - publish: the producer span already has a minted identity (span processor) and the
 *   propagator has written it into the headers; `publishHook` reconciles it with the AMQP
 *   properties the application set itself (`messageId`, `type`, `correlationId`), so an
 *   existing service keeps its own ids, and stamps the final `onceflow-*` headers.
 * - consume: `consumeHook` reads the identity from the headers (falling back to the AMQP
 *   properties, then to a content-derived id), works out the delivery attempt, and opens the
 *   message scope on the consume span. The instrumentation runs the application's callback
 *   with that span active, so everything the handler does — publish, fetch, http — finds the
 *   scope through the active span, whether the consume span is parented by the producer or
 *   only linked to it (`useLinksForConsume`, where the extracted context is dropped).
 * - consumeEndHook: a nack/reject with no outcome recorded marks the attempt `failed`.
 */
import { createHash } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import { EndOperation, type AmqplibInstrumentationConfig, type ConsumeEndInfo, type ConsumeInfo, type PublishInfo } from '@opentelemetry/instrumentation-amqplib';
import { setCarriedOffload, setIdentityAttributes } from './attributes.js';
import { readBaggageHeader, writeBaggageHeader } from './baggage.js';
import { guard } from './guard.js';
import { deterministicMessageId, headerString, identityHeaders, incomingIdentity, parsePositiveInt, readIdentityHeaders } from './identity.js';
import { currentScope, newMessageScope, outgoingFrom, registerSend, scopeOfSpan, sendOfSpan, type SendRecord } from './scope.js';
import {
  ATTR_MESSAGING_BODY_SIZE,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  HEADER_PAYLOAD_BYTES,
  HEADER_PAYLOAD_REF,
} from './semconv.js';
import { setOutcome } from './outcome.js';
import { linkToProducer } from './links.js';
import type { MessageIdentity } from './types.js';

export const AMQP_SYSTEM = 'rabbitmq';
/** Header RabbitMQ quorum queues set on redeliveries: how many times it was delivered before. */
export const HEADER_X_DELIVERY_COUNT = 'x-delivery-count';

export function amqpPublishHook(span: Span, info: PublishInfo): void {
  const options = info.options;
  if (!options) return;
  const headers: Record<string, unknown> = (options.headers ??= {});
  let send = sendOfSpan(span);
  if (!send) {
    // Onceflow's span processor is not installed (a user's own SDK without it).
    const scope = currentScope();
    const { identity, inheritedConversation } = outgoingFrom(scope, {});
    send = { identity, inheritedConversation, scope };
    registerSend(span, send);
    scope?.outgoing.push(identity.messageId);
  }
  const preset = send.preset ?? readIdentityHeaders(headers);
  const before = send.identity;
  const identity: MessageIdentity = {
    messageId: preset.messageId ?? headerString(options.messageId) ?? before.messageId,
    conversationId:
      preset.conversationId ??
      (send.inheritedConversation ? before.conversationId : (headerString(options.correlationId) ?? before.conversationId)),
  };
  const causationId = preset.causationId ?? before.causationId;
  if (causationId) identity.causationId = causationId;
  const messageType = preset.messageType ?? headerString(options.type) ?? before.messageType;
  if (messageType) identity.messageType = messageType;
  const idempotencyKey = preset.idempotencyKey ?? before.idempotencyKey;
  if (idempotencyKey) identity.idempotencyKey = idempotencyKey;
  if (preset.attempt !== undefined) identity.attempt = preset.attempt;
  updateSend(span, send, identity);

  Object.assign(headers, identityHeaders(identity));
  if (send.payload) {
    headers[HEADER_PAYLOAD_REF] = send.payload.ref;
    headers[HEADER_PAYLOAD_BYTES] = String(send.payload.bytes);
  }
  if (identity.conversationId !== before.conversationId && typeof headers.baggage === 'string') {
    headers.baggage = writeBaggageHeader(headers.baggage, identity);
  }
  span.setAttribute(ATTR_MESSAGING_SYSTEM, AMQP_SYSTEM);
  span.setAttribute(ATTR_MESSAGING_OPERATION_TYPE, 'send');
  span.setAttribute(ATTR_MESSAGING_DESTINATION_NAME, info.exchange || info.routingKey);
  if (info.content) span.setAttribute(ATTR_MESSAGING_BODY_SIZE, info.content.length);
}

function updateSend(span: Span, send: SendRecord, identity: MessageIdentity): void {
  const previousId = send.identity.messageId;
  send.identity = identity;
  if (send.scope && previousId !== identity.messageId) {
    const i = send.scope.outgoing.lastIndexOf(previousId);
    if (i >= 0) send.scope.outgoing[i] = identity.messageId;
  }
  setIdentityAttributes(span, identity);
}

export function amqpConsumeHook(span: Span, info: ConsumeInfo): void {
  const msg = info.msg;
  const headers: Record<string, unknown> = msg.properties.headers ?? {};
  const props = msg.properties;
  const deliveryCount = parsePositiveInt(headers[HEADER_X_DELIVERY_COUNT]);
  const message = incomingIdentity(readIdentityHeaders(headers), readBaggageHeader(headerString(headers.baggage)), {
    messageId: headerString(props.messageId),
    correlationId: headerString(props.correlationId),
    messageType: headerString(props.type),
    redeliveries: deliveryCount ?? (msg.fields.redelivered ? 1 : 0),
    mintId: () => contentDerivedId(info),
  });

  newMessageScope(span, message);
  setIdentityAttributes(span, message);
  span.setAttribute(ATTR_MESSAGING_SYSTEM, AMQP_SYSTEM);
  span.setAttribute(ATTR_MESSAGING_OPERATION_TYPE, 'process');
  span.setAttribute(ATTR_MESSAGING_DESTINATION_NAME, queueOf(span) ?? (msg.fields.exchange || msg.fields.routingKey));
  span.setAttribute(ATTR_MESSAGING_BODY_SIZE, msg.content.length);
  setCarriedOffload(span, headers);
  linkToProducer(span, headerString(headers.traceparent));
}

export function amqpConsumeEndHook(span: Span, info: ConsumeEndInfo): void {
  if (info.rejected !== true) return;
  const op = info.endOperation;
  if (op !== EndOperation.Nack && op !== EndOperation.Reject && op !== EndOperation.NackAll) return;
  const scope = scopeOfSpan(span);
  if (!scope || scope.span !== span || scope.outcome) return;
  setOutcome(scope, 'failed', `${op} without an outcome recorded`);
}

/** The instrumentation names the consume span `<queue> process`; the hook is not told the queue. */
function queueOf(span: Span): string | undefined {
  const name = (span as unknown as { name?: unknown }).name;
  if (typeof name !== 'string' || !name.endsWith(' process')) return undefined;
  return name.slice(0, -' process'.length);
}

/**
 * A message whose producer set no id at all: derive one from what stays the same across
 * redeliveries, so attempts of one message still share an id.
 */
function contentDerivedId(info: ConsumeInfo): string {
  const { fields, properties, content } = info.msg;
  const digest = createHash('sha1').update(content).digest('hex');
  return deterministicMessageId('amqp', fields.exchange, fields.routingKey, String(properties.timestamp ?? ''), digest);
}

type Hook<A> = ((span: Span, info: A) => void) | undefined;

function chain<A>(name: string, ours: (span: Span, info: A) => void, theirs: Hook<A>): (span: Span, info: A) => void {
  return (span, info) => {
    guard(name, () => ours(span, info));
    if (theirs) guard(`${name} (application hook)`, () => theirs(span, info));
  };
}

/** instrumentation-amqplib's config with Onceflow's hooks (the application's own hooks run after). */
export function amqplibConfig(user: AmqplibInstrumentationConfig = {}): AmqplibInstrumentationConfig {
  return {
    ...user,
    publishHook: chain('amqplib publishHook', amqpPublishHook, user.publishHook),
    consumeHook: chain('amqplib consumeHook', amqpConsumeHook, user.consumeHook),
    consumeEndHook: chain('amqplib consumeEndHook', amqpConsumeEndHook, user.consumeEndHook),
  };
}
