/**
 * The endpoint of a processing attempt (`onceflow.endpoint`): the service together with the
 * queue or subscription it consumed from. Identity is per (endpoint, message id), so one
 * service consuming the same event from two queues is two endpoints, not a duplicate.
 *
 * The default is `service.name` + `/` + queue, the same the collector derives when the
 * attribute is missing. An application names an endpoint itself per consumer: `consumeAs`
 * for amqplib (the name travels in the consumer tag, which every delivery carries back to the
 * consume hook), `endpoint` in `withHandle`'s options.
 */
import type { Span } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import { guard, warnOnce } from './guard.js';
import { ATTR_ENDPOINT, ATTR_SERVICE_NAME } from './semconv.js';

/** Consumer tags made by `consumeAs` start with this; the endpoint name follows, then `#` and a unique suffix. */
export const ENDPOINT_CONSUMER_TAG_PREFIX = 'onceflow-endpoint=';
/** AMQP consumer tags are short strings (at most 255 bytes); the suffix takes 37. */
const MAX_ENDPOINT_BYTES = 200;

/** `service/destination`, or the service alone when the destination is unknown. */
export function defaultEndpoint(service: string, destination: string | undefined): string {
  return destination ? `${service}/${destination}` : service;
}

/**
 * Options for amqplib's `channel.consume` that name the endpoint of this consumer:
 * `channel.consume('refunds', onMessage, consumeAs('billing/refunds', { noAck: false }))`.
 * It sets the consumer tag (unique per call); an invalid name is reported and the options
 * are returned as given, so the default endpoint applies.
 */
export function consumeAs<T extends object>(endpoint: string, options?: T): T & { consumerTag?: string } {
  const given = (options ?? {}) as T & { consumerTag?: string };
  return guard(
    'consumeAs',
    () => {
      if (typeof endpoint !== 'string' || endpoint.trim() === '' || Buffer.byteLength(endpoint) > MAX_ENDPOINT_BYTES) {
        warnOnce(
          'consumeAs:invalid',
          `consumeAs needs an endpoint name of 1-${MAX_ENDPOINT_BYTES} bytes; got ${JSON.stringify(endpoint)}. The default endpoint (service/queue) is used.`,
        );
        return given;
      }
      return { ...given, consumerTag: `${ENDPOINT_CONSUMER_TAG_PREFIX}${endpoint}#${randomUUID()}` };
    },
    given,
  );
}

/** The endpoint named by a `consumeAs` consumer tag, or undefined for any other tag. */
export function endpointOfConsumerTag(tag: unknown): string | undefined {
  if (typeof tag !== 'string' || !tag.startsWith(ENDPOINT_CONSUMER_TAG_PREFIX)) return undefined;
  const end = tag.lastIndexOf('#');
  return end > ENDPOINT_CONSUMER_TAG_PREFIX.length ? tag.slice(ENDPOINT_CONSUMER_TAG_PREFIX.length, end) : undefined;
}

/** `service.name` of the span's resource (SDK spans have one; a non-recording span has none). */
export function serviceOfSpan(span: Span): string | undefined {
  const name = (span as { resource?: { attributes?: Record<string, unknown> } }).resource?.attributes?.[ATTR_SERVICE_NAME];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** Records the attempt's endpoint: the name given, else the default from the span's service. */
export function setEndpoint(span: Span, named: string | undefined, destination: string | undefined): void {
  if (named) {
    span.setAttribute(ATTR_ENDPOINT, named);
    return;
  }
  const service = serviceOfSpan(span);
  if (service) span.setAttribute(ATTR_ENDPOINT, defaultEndpoint(service, destination));
}
