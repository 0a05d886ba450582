/**
 * RabbitMQ through `@opentelemetry/instrumentation-amqplib`'s hooks.
 *
 * - publish: the producer span already has a minted identity (span processor) and the
 *   propagator has written it into the headers; `publishHook` reconciles it with the AMQP
 *   properties the application set itself (`messageId`, `type`, `correlationId`), so an
 *   existing service keeps its own ids, and stamps the final `onceflow-*` headers.
 * - publish also records the digest of the body (`onceflow.body_digest`).
 * - consume: `consumeHook` reads the identity from the headers (falling back to the AMQP
 *   properties, then to a content-derived id), works out the delivery attempt and the
 *   endpoint (`consumeAs`'s name, else service/queue), and opens the
 *   message scope on the consume span. The instrumentation runs the application's callback
 *   with that span active, so everything the handler does — publish, fetch, http — finds the
 *   scope through the active span, whether the consume span is parented by the producer or
 *   only linked to it (`useLinksForConsume`, where the extracted context is dropped).
 * - consumeEndHook: a nack/reject with no outcome recorded marks the attempt `failed`.
 */
import { createHash } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import {
  EndOperation,
  type AmqplibInstrumentationConfig,
  type ConsumeEndInfo,
  type ConsumeInfo,
  type PublishInfo,
} from '@opentelemetry/instrumentation-amqplib';
import { setCarriedOffload, setIdentityAttributes, setOffloadAttributes } from './attributes.js';
import { readBaggageHeader, writeBaggageHeader } from './baggage.js';
import { guard, reportHookError } from './guard.js';
import { AMQPLIB_INSTRUMENTATION, markHooked } from './hooked.js';
import {
  deterministicMessageId,
  headerString,
  incomingIdentity,
  parsePositiveInt,
  readIdentityHeaders,
  writeIdentityHeaders,
} from './identity.js';
import { currentScope, newMessageScope, outgoingFrom, recordSend, scopeOfSpan } from './scope.js';
import {
  ATTR_MESSAGING_BODY_SIZE,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  HEADER_PAYLOAD_BYTES,
  HEADER_PAYLOAD_REF,
} from './semconv.js';
import { setOutcome } from './outcome.js';
import { setBodyDigest } from './body-digest.js';
import { endpointOfConsumerTag, setEndpoint } from './endpoint.js';
import { linkToProducer } from './links.js';

export const AMQP_SYSTEM = 'rabbitmq';
/** Header RabbitMQ quorum queues set on redeliveries: how many times it was delivered before. */
export const HEADER_X_DELIVERY_COUNT = 'x-delivery-count';
/** Header RabbitMQ adds when it dead-letters a message: one entry per (queue, reason) with a count. */
export const HEADER_X_DEATH = 'x-death';

export function amqpPublishHook(span: Span, info: PublishInfo): void {
  const options = info.options;
  if (!options) return;
  const headers: Record<string, unknown> = (options.headers ??= {});
  // The span processor and propagator leave hooked publishes to this hook, so every
  // `onceflow-*` header already present is the application's own (a resend, a retry).
  const preset = readIdentityHeaders(headers);
  const scope = scopeOfSpan(span) ?? currentScope();
  const { identity, inheritedConversation } = outgoingFrom(scope, {
    messageId: preset.messageId ?? headerString(options.messageId),
    conversationId: preset.conversationId ?? (scope ? undefined : headerString(options.correlationId)),
    causationId: preset.causationId,
    messageType: preset.messageType ?? headerString(options.type),
    idempotencyKey: preset.idempotencyKey,
    businessKey: preset.businessKey,
  });
  if (preset.attempt !== undefined) identity.attempt = preset.attempt;
  const { payload } = recordSend(span, scope, identity, inheritedConversation);

  writeIdentityHeaders(headers, identity);
  if (payload) {
    headers[HEADER_PAYLOAD_REF] = payload.ref;
    headers[HEADER_PAYLOAD_BYTES] = String(payload.bytes);
    setOffloadAttributes(span, payload);
  }
  headers.baggage = writeBaggageHeader(typeof headers.baggage === 'string' ? headers.baggage : undefined, identity);
  setIdentityAttributes(span, identity);
  span.setAttribute(ATTR_MESSAGING_SYSTEM, AMQP_SYSTEM);
  span.setAttribute(ATTR_MESSAGING_OPERATION_TYPE, 'send');
  span.setAttribute(ATTR_MESSAGING_DESTINATION_NAME, info.exchange || info.routingKey);
  if (info.content) {
    span.setAttribute(ATTR_MESSAGING_BODY_SIZE, info.content.length);
    setBodyDigest(span, info.content);
  }
}

export function amqpConsumeHook(span: Span, info: ConsumeInfo): void {
  const msg = info.msg;
  const headers: Record<string, unknown> = msg.properties.headers ?? {};
  const props = msg.properties;
  const queue = queueOf(span);
  const deliveryCount = parsePositiveInt(headers[HEADER_X_DELIVERY_COUNT]);
  const found = readIdentityHeaders(headers);
  // Baggage only matters when the headers do not carry the conversation (a producer that passes W3C headers only).
  const fromBaggage = found.conversationId ? {} : readBaggageHeader(headerString(headers.baggage));
  const message = incomingIdentity(found, fromBaggage, {
    messageId: headerString(props.messageId),
    correlationId: headerString(props.correlationId),
    messageType: headerString(props.type),
    redeliveries:
      (deliveryCount ?? (msg.fields.redelivered ? 1 : 0)) + (found.attempt === undefined ? deadLetterRejections(headers, queue) : 0),
    mintId: () => contentDerivedId(info),
  });

  newMessageScope(span, message);
  setIdentityAttributes(span, message);
  span.setAttribute(ATTR_MESSAGING_SYSTEM, AMQP_SYSTEM);
  span.setAttribute(ATTR_MESSAGING_OPERATION_TYPE, 'process');
  const destination = queue ?? (msg.fields.exchange || msg.fields.routingKey);
  span.setAttribute(ATTR_MESSAGING_DESTINATION_NAME, destination);
  // amqplib delivers the consumer tag in the fields; the instrumentation's type leaves it out.
  setEndpoint(span, endpointOfConsumerTag((msg.fields as { consumerTag?: unknown }).consumerTag), destination);
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

/**
 * Retries through a dead-letter exchange (reject → DLX → delay queue → back): RabbitMQ counts
 * each rejection from a queue in the message's `x-death` header. Those are earlier attempts at
 * this queue, unless the application numbers its retries itself (`onceflow-attempt`).
 */
function deadLetterRejections(headers: Record<string, unknown>, queue: string | undefined): number {
  const deaths = headers[HEADER_X_DEATH];
  if (!Array.isArray(deaths)) return 0;
  let rejections = 0;
  for (const death of deaths as Record<string, unknown>[]) {
    if (!death || headerString(death.reason) !== 'rejected') continue;
    if (queue !== undefined && headerString(death.queue) !== queue) continue;
    rejections += parsePositiveInt(death.count) ?? 1;
  }
  return rejections;
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
  const theirName = `${name} (application hook)`;
  return (span, info) => {
    try {
      ours(span, info);
    } catch (error) {
      reportHookError(name, error);
    }
    if (theirs) guard(theirName, () => theirs(span, info));
  };
}

/** instrumentation-amqplib's config with Onceflow's hooks (the application's own hooks run after). */
export function amqplibConfig(user: AmqplibInstrumentationConfig = {}): AmqplibInstrumentationConfig {
  markHooked(AMQPLIB_INSTRUMENTATION);
  return {
    ...user,
    publishHook: chain('amqplib publishHook', amqpPublishHook, user.publishHook),
    consumeHook: chain('amqplib consumeHook', amqpConsumeHook, user.consumeHook),
    consumeEndHook: chain('amqplib consumeEndHook', amqpConsumeEndHook, user.consumeEndHook),
  };
}
