/**
 * Message identity without OpenTelemetry: deterministic ids, the `onceflow-*` headers, and
 * reading an identity back from a header record (AMQP headers, HTTP headers, a table row).
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  HEADER_ATTEMPT,
  HEADER_BUSINESS_KEY,
  HEADER_CAUSATION_ID,
  HEADER_CONVERSATION_ID,
  HEADER_IDEMPOTENCY_KEY,
  HEADER_MESSAGE_ID,
  HEADER_MESSAGE_TYPE,
} from './semconv.js';
import type { MessageIdentity } from './types.js';

/** Namespace of Onceflow's name-based (v5) UUIDs. Other languages use the same one. */
export const ONCEFLOW_UUID_NAMESPACE = '6f6e6365-666c-5f77-8000-6d6573736167';
/** Separates the parts of a deterministic id's name (U+001F, the ASCII unit separator). */
export const ID_PART_SEPARATOR = '\u001f';

/**
 * A name-based UUID (RFC 9562 version 5): the same parts give the same id in every process
 * and language. Use it where a retried handler must emit the same message ids, e.g. an
 * outbox seeded with the incoming message id and the endpoint name.
 */
export function deterministicMessageId(...parts: string[]): string {
  return uuidV5(ONCEFLOW_UUID_NAMESPACE, parts.join(ID_PART_SEPARATOR));
}

/** RFC 9562 name-based UUID, version 5 (SHA-1). */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function newId(): string {
  return randomUUID();
}

/** The `onceflow-*` headers that carry `identity` (absent fields are left out). */
export function identityHeaders(identity: MessageIdentity): Record<string, string> {
  return writeIdentityHeaders({}, identity) as Record<string, string>;
}

/** Writes the `onceflow-*` headers of `identity` into `target` (an AMQP or HTTP header record). */
export function writeIdentityHeaders(target: Record<string, unknown>, identity: MessageIdentity): Record<string, unknown> {
  target[HEADER_MESSAGE_ID] = identity.messageId;
  target[HEADER_CONVERSATION_ID] = identity.conversationId;
  if (identity.causationId) target[HEADER_CAUSATION_ID] = identity.causationId;
  if (identity.messageType) target[HEADER_MESSAGE_TYPE] = identity.messageType;
  if (identity.idempotencyKey) target[HEADER_IDEMPOTENCY_KEY] = identity.idempotencyKey;
  if (identity.attempt !== undefined) target[HEADER_ATTEMPT] = String(identity.attempt);
  if (identity.businessKey) target[HEADER_BUSINESS_KEY] = identity.businessKey;
  return target;
}

/** Identity fields found in a header record; every field may be missing. */
export type PartialIdentity = Partial<MessageIdentity>;

/** Reads a header value as a string: AMQP headers may hold Buffers or numbers, HTTP arrays. */
export function headerString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.length === 0 ? undefined : value.toString('utf8');
  if (Array.isArray(value)) return headerString(value[0]);
  return undefined;
}

export function parsePositiveInt(value: unknown): number | undefined {
  const text = headerString(value);
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Reads the `onceflow-*` headers of a record whose keys are lower-case (AMQP, Node HTTP). */
export function readIdentityHeaders(headers: Record<string, unknown> | undefined | null): PartialIdentity {
  if (!headers) return {};
  const found: PartialIdentity = {};
  const messageId = headerString(headers[HEADER_MESSAGE_ID]);
  if (messageId) found.messageId = messageId;
  const conversationId = headerString(headers[HEADER_CONVERSATION_ID]);
  if (conversationId) found.conversationId = conversationId;
  const causationId = headerString(headers[HEADER_CAUSATION_ID]);
  if (causationId) found.causationId = causationId;
  const messageType = headerString(headers[HEADER_MESSAGE_TYPE]);
  if (messageType) found.messageType = messageType;
  const idempotencyKey = headerString(headers[HEADER_IDEMPOTENCY_KEY]);
  if (idempotencyKey) found.idempotencyKey = idempotencyKey;
  const attempt = parsePositiveInt(headers[HEADER_ATTEMPT]);
  if (attempt !== undefined && attempt > 0) found.attempt = attempt;
  const businessKey = headerString(headers[HEADER_BUSINESS_KEY]);
  if (businessKey) found.businessKey = businessKey;
  return found;
}

/** Lower-cases the keys of a header record so lookups work whatever case the sender used. */
export function lowerCaseKeys(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) out[key.toLowerCase()] = value;
  return out;
}

/** What a transport knows besides the `onceflow-*` headers, used where a header is missing. */
export interface IncomingFallbacks {
  messageId?: string;
  /** A transport's own correlation id (AMQP `correlationId`): the conversation when none is carried. */
  correlationId?: string;
  messageType?: string;
  /** Broker redeliveries of this copy (added to the carried attempt number). */
  redeliveries: number;
  /** Used when no id is carried at all. */
  mintId: () => string;
}

/**
 * The identity of a received message: `onceflow-*` headers first, then W3C baggage entries,
 * then the transport's own properties; a message that starts a conversation names it.
 */
export function incomingIdentity(
  found: PartialIdentity,
  fromBaggage: { conversationId?: string; causationId?: string },
  fallbacks: IncomingFallbacks,
): MessageIdentity {
  const messageId = found.messageId ?? fallbacks.messageId ?? fallbacks.mintId();
  const message: MessageIdentity = {
    messageId,
    conversationId: found.conversationId ?? fromBaggage.conversationId ?? fallbacks.correlationId ?? messageId,
    attempt: (found.attempt ?? 1) + fallbacks.redeliveries,
  };
  const causationId = found.causationId ?? fromBaggage.causationId;
  if (causationId) message.causationId = causationId;
  const messageType = found.messageType ?? fallbacks.messageType;
  if (messageType) message.messageType = messageType;
  if (found.idempotencyKey) message.idempotencyKey = found.idempotencyKey;
  if (found.businessKey) message.businessKey = found.businessKey;
  return message;
}
