/**
 * What a span says about the endpoint that processed it, when its attempt committed, whether a
 * send was an outbox dispatch, and what body it sent: the span-level reading of issue 11's
 * attributes, used by the conversation model next to span-roles.
 */
import { ATTR_BODY_DIGEST, ATTR_COMMITTED_AT_MS, ATTR_ENDPOINT, ATTR_OUTBOX_DISPATCH } from '@onceflow/instrumentation/semconv';
import type { SpanRow } from '../model/span.js';

/** The endpoint a span names explicitly ('' when it does not). */
export function declaredEndpointOf(span: SpanRow): string {
  return span.attributes[ATTR_ENDPOINT] ?? '';
}

/**
 * The endpoint that processed an attempt: the declared one, else the service together with
 * the queue or subscription it consumed from, else the service alone. One service consuming
 * the same event from two queues is two endpoints.
 */
export function derivedEndpoint(service: string, destination: string): string {
  return destination ? `${service}/${destination}` : service;
}

/** When the attempt's transaction committed (epoch ms), null when not recorded. */
export function committedAtMsOf(span: SpanRow): number | null {
  const raw = span.attributes[ATTR_COMMITTED_AT_MS];
  if (raw === undefined || raw === '') return null;
  const ms = Number(raw);
  return Number.isFinite(ms) ? ms : null;
}

/** A send made by the outbox dispatcher after its attempt committed. */
export function isOutboxDispatch(span: SpanRow): boolean {
  return span.attributes[ATTR_OUTBOX_DISPATCH] === 'true';
}

/** Digest of the sent body ('' when not recorded). */
export function bodyDigestOf(span: SpanRow): string {
  return span.attributes[ATTR_BODY_DIGEST] ?? '';
}
