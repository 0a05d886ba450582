/**
 * Conversation model step: the messages of a conversation, keyed by message id, with the
 * sends that published them, the attempts that consumed them (per endpoint), the attempts
 * that listed them as outgoing, and the consumers that read their offloaded payload back.
 */
import { ATTR_BUSINESS_KEY } from '@onceflow/instrumentation/semconv';
import type { SpanRow } from '../model/span.js';
import type { AttemptIndex } from './attempt-grouping.js';
import type { AttemptModel, MessageModel, SendModel } from './conversation-types.js';
import { isAttemptSpan, isPayloadFetch, isSend, payloadRefOf, startMsOf } from '../model/span-roles.js';
import { bodyDigestOf, isOutboxDispatch } from './span-markers.js';
import type { AncestorLookup } from './span-tree.js';

export interface MessageIndex {
  messagesById: Map<string, MessageModel>;
  sends: SendModel[];
}

function newMessage(id: string, firstMs: number): MessageModel {
  return {
    id,
    type: '',
    causationId: '',
    idempotencyKey: '',
    businessKey: '',
    destination: '',
    payloadBytes: 0,
    payloadOffloaded: false,
    payloadRef: '',
    sends: [],
    attempts: [],
    endpoints: new Map(),
    listedBy: [],
    fetchedBy: new Set(),
    sentAtMs: null,
    firstMs,
    status: 'in-flight',
    flags: new Set(),
    quietUntilMs: firstMs,
  };
}

function absorbIdentity(message: MessageModel, span: SpanRow): void {
  message.type ||= span.messageType;
  message.causationId ||= span.causationId;
  message.idempotencyKey ||= span.idempotencyKey;
  message.businessKey ||= span.attributes[ATTR_BUSINESS_KEY] ?? '';
  message.destination ||= span.destination;
  message.payloadBytes = Math.max(message.payloadBytes, span.payloadBytes);
  message.payloadOffloaded ||= span.payloadOffloaded;
  message.payloadRef ||= span.payloadRef;
}

const isBareReceive = (attempt: AttemptModel) => attempt.span.operation === 'receive' && attempt.outcome === '';

/**
 * SDKs that emit a `receive` span next to (not around) the `process` span of the same delivery
 * would otherwise show two attempts: a bare receive in the same trace as another attempt of
 * the same endpoint is part of that attempt, not a delivery of its own.
 */
function dropBareReceives(message: MessageModel): void {
  let dropped = false;
  for (const [endpoint, attempts] of message.endpoints) {
    if (!attempts.some(isBareReceive)) continue;
    const processedTraces = new Set(attempts.filter((a) => !isBareReceive(a)).map((a) => a.span.traceId));
    const kept = attempts.filter((a) => !isBareReceive(a) || !processedTraces.has(a.span.traceId));
    if (kept.length === attempts.length) continue;
    message.endpoints.set(endpoint, kept);
    dropped = true;
  }
  if (dropped) message.attempts = [...message.endpoints.values()].flat().sort((a, b) => a.startMs - b.startMs);
}

/**
 * An attempt whose span names no destination (and no endpoint) belongs to its service's only
 * endpoint for this message, when there is exactly one: a redelivery recorded without its
 * queue is not a delivery to another endpoint.
 */
function mergeDestinationless(message: MessageModel): void {
  if (message.endpoints.size < 2) return;
  for (const [endpoint, attempts] of [...message.endpoints]) {
    const service = attempts[0].service;
    if (endpoint !== service || attempts.some((a) => a.delivery.destination !== '' || a.endpoint !== service)) continue;
    const others = [...message.endpoints.keys()].filter((key) => key !== endpoint && message.endpoints.get(key)![0].service === service);
    if (others.length !== 1) continue;
    const target = message.endpoints.get(others[0])!;
    for (const attempt of attempts) attempt.endpoint = attempt.delivery.endpoint = others[0];
    target.push(...attempts);
    target.sort((a, b) => a.startMs - b.startMs);
    message.endpoints.delete(endpoint);
  }
}

/** The message registry the steps below share: creates a message on its first evidence. */
function messageRegistry() {
  const messagesById = new Map<string, MessageModel>();
  const messageFor = (id: string, atMs: number): MessageModel => {
    let message = messagesById.get(id);
    if (!message) {
      message = newMessage(id, atMs);
      messagesById.set(id, message);
    }
    message.firstMs = Math.min(message.firstMs, atMs);
    return message;
  };
  return { messagesById, messageFor };
}
type MessageFor = ReturnType<typeof messageRegistry>['messageFor'];

function collectSends(
  spans: SpanRow[],
  ancestorsOf: AncestorLookup,
  index: AttemptIndex,
  callIdOfServer: Map<SpanRow, string>,
  messageFor: MessageFor,
): SendModel[] {
  const sends: SendModel[] = [];
  for (const span of spans) {
    if (!isSend(span) || !span.messageId) continue;
    const ancestors = ancestorsOf(span);
    const producer = index.attemptOfSpan(ancestors.attempt);
    const resend = producer !== null && producer.messageId === span.messageId;
    const atMs = startMsOf(span);
    const model: SendModel = {
      span,
      producer,
      resend,
      // At the boundary: no attempt of a message above it (an HTTP request may itself carry an
      // outcome, e.g. a repeated Idempotency-Key marked duplicate, and is then its attempt).
      httpCallId: !producer?.messageId && ancestors.server ? (callIdOfServer.get(ancestors.server) ?? '') : '',
      send: {
        service: span.service,
        destination: span.destination,
        startMs: atMs,
        traceId: span.traceId,
        spanId: span.spanId,
        attemptSpanId: producer?.span.spanId ?? '',
        fromFailedAttempt: producer !== null && !resend && producer.failed,
        outboxDispatch: isOutboxDispatch(span),
        bodyDigest: bodyDigestOf(span),
      },
    };
    sends.push(model);
    const message = messageFor(span.messageId, atMs);
    message.sends.push(model);
    if (message.sentAtMs === null || atMs < message.sentAtMs) message.sentAtMs = atMs;
    absorbIdentity(message, span);
  }
  return sends;
}

function collectDeliveries(index: AttemptIndex, messageFor: MessageFor): void {
  for (const attempt of index.attempts) {
    if (!attempt.messageId) continue;
    const message = messageFor(attempt.messageId, attempt.startMs);
    message.attempts.push(attempt);
    const atEndpoint = message.endpoints.get(attempt.endpoint);
    if (atEndpoint) atEndpoint.push(attempt);
    else message.endpoints.set(attempt.endpoint, [attempt]);
    for (const span of index.groups.get(attempt.span)!) absorbIdentity(message, span);
  }
}

/**
 * Outgoing ids of a committed attempt are messages the flow must see delivered; those of an
 * aborted attempt only matter for messages that exist anyway (ghost evidence).
 */
function collectListings(attempts: AttemptModel[], messagesById: Map<string, MessageModel>, messageFor: MessageFor): void {
  for (const attempt of attempts) {
    if (attempt.failed) continue;
    for (const id of attempt.outgoing) messageFor(id, attempt.endMs).listedBy.push(attempt);
  }
  for (const attempt of attempts) {
    if (!attempt.failed) continue;
    for (const id of attempt.outgoing) messagesById.get(id)?.listedBy.push(attempt);
  }
}

/** Claim check: which services read each offloaded payload back (by reference or by message id). */
function collectPayloadFetches(
  spans: SpanRow[],
  ancestorsOf: AncestorLookup,
  index: AttemptIndex,
  messagesById: Map<string, MessageModel>,
): void {
  const messagesByRef = new Map<string, MessageModel[]>();
  for (const message of messagesById.values()) {
    if (!message.payloadRef) continue;
    const list = messagesByRef.get(message.payloadRef);
    if (list) list.push(message);
    else messagesByRef.set(message.payloadRef, [message]);
  }
  for (const span of spans) {
    if (!isPayloadFetch(span)) continue;
    const messageId = span.messageId || index.attemptOfSpan(isAttemptSpan(span) ? span : ancestorsOf(span).attempt)?.messageId;
    const targets = new Set<MessageModel>(messagesByRef.get(payloadRefOf(span)) ?? []);
    const byId = messageId ? messagesById.get(messageId) : undefined;
    if (byId) targets.add(byId);
    for (const message of targets) message.fetchedBy.add(span.service);
  }
}

/** Indexes the (sorted) spans' messages from sends, deliveries, outgoing listings and payload fetches. */
export function indexMessages(
  spans: SpanRow[],
  ancestorsOf: AncestorLookup,
  index: AttemptIndex,
  callIdOfServer: Map<SpanRow, string>,
): MessageIndex {
  const { messagesById, messageFor } = messageRegistry();
  const sends = collectSends(spans, ancestorsOf, index, callIdOfServer, messageFor);
  collectDeliveries(index, messageFor);
  for (const message of messagesById.values()) {
    mergeDestinationless(message);
    dropBareReceives(message);
  }
  collectListings(index.attempts, messagesById, messageFor);
  collectPayloadFetches(spans, ancestorsOf, index, messagesById);
  return { messagesById, sends };
}
