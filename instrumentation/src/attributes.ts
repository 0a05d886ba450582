/** Writing Onceflow's identity onto spans, one place for every hook. */
import type { Span } from '@opentelemetry/api';
import {
  ATTR_ATTEMPT,
  ATTR_BUSINESS_KEY,
  ATTR_CAUSATION_ID,
  ATTR_IDEMPOTENCY_KEY,
  ATTR_MESSAGE_TYPE,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_PAYLOAD_BYTES,
  ATTR_PAYLOAD_OFFLOADED,
  ATTR_PAYLOAD_REF,
  HEADER_PAYLOAD_BYTES,
  HEADER_PAYLOAD_REF,
} from './semconv.js';
import { headerString, parsePositiveInt } from './identity.js';
import type { MessageIdentity } from './types.js';

export function setIdentityAttributes(span: Span, identity: MessageIdentity): void {
  span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, identity.messageId);
  span.setAttribute(ATTR_MESSAGING_CONVERSATION_ID, identity.conversationId);
  if (identity.causationId) span.setAttribute(ATTR_CAUSATION_ID, identity.causationId);
  if (identity.messageType) span.setAttribute(ATTR_MESSAGE_TYPE, identity.messageType);
  if (identity.idempotencyKey) span.setAttribute(ATTR_IDEMPOTENCY_KEY, identity.idempotencyKey);
  if (identity.attempt !== undefined) span.setAttribute(ATTR_ATTEMPT, identity.attempt);
  if (identity.businessKey) span.setAttribute(ATTR_BUSINESS_KEY, identity.businessKey);
}

export function setOffloadAttributes(span: Span, payload: { ref: string; bytes: number }): void {
  span.setAttribute(ATTR_PAYLOAD_OFFLOADED, true);
  span.setAttribute(ATTR_PAYLOAD_REF, payload.ref);
  span.setAttribute(ATTR_PAYLOAD_BYTES, payload.bytes);
}

/** A received message whose body was offloaded: record the claim check it carries. */
export function setCarriedOffload(span: Span, headers: Record<string, unknown>): void {
  const ref = headerString(headers[HEADER_PAYLOAD_REF]);
  if (ref) setOffloadAttributes(span, { ref, bytes: parsePositiveInt(headers[HEADER_PAYLOAD_BYTES]) ?? 0 });
}
