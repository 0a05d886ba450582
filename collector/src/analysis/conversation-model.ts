/**
 * Second step of the flow pipeline: index one conversation's spans into messages, attempts,
 * sends, HTTP calls and causation edges. The anomaly detectors and the flow assembly read this
 * model; nothing here judges anything except message status.
 *
 * Identity is per (endpoint, message id): a message is keyed by its id, and its attempts are
 * grouped per consuming service (`endpoints`). Redeliveries in new traces join on message id.
 * Everything is map-based and linear in the number of spans (ancestor lookups are memoized).
 */
import { ATTR_BUSINESS_KEY, type Outcome } from '@onceflow/instrumentation/semconv';
import type { AnomalyKind, CausationEdge, Delivery, HttpCall, MessageStatus, Send } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import {
  endMsOf,
  errorOf,
  httpMethodOf,
  httpPeerOf,
  httpStatusOf,
  httpTargetOf,
  isAttemptSpan,
  isFailedOutcome,
  isHttpClient,
  isHttpServer,
  isPayloadFetch,
  isRedelivered,
  isSend,
  payloadRefOf,
  retryDelayOf,
  startMsOf,
} from '../model/span-roles.js';

/** One processing attempt: a consumer span plus any nested spans of the same attempt. */
export interface AttemptModel {
  /** The outermost span of the attempt. */
  span: SpanRow;
  messageId: string;
  messageType: string;
  service: string;
  /** 1-based; 0 when not recorded. */
  attempt: number;
  /** What the instrumentation recorded ('' when nothing). */
  outcome: Outcome | '';
  /** Recorded outcome; else `failed` when the span status is error; else `processed`. */
  effective: Outcome;
  /** The attempt did not commit: its outcome is failed/retry_scheduled/dead_lettered (or, with no outcome, its status is error). */
  failed: boolean;
  error: string;
  retryDelayMs: number | null;
  startMs: number;
  endMs: number;
  outgoing: string[];
  delivery: Delivery;
}

export interface SendModel {
  span: SpanRow;
  send: Send;
  /** The attempt that sent it (nearest consumer ancestor in the trace); null at the boundary. */
  producer: AttemptModel | null;
  /** Sent again by an attempt of the same message (e.g. a delay-queue retry): not a new production. */
  resend: boolean;
  /** HTTP call (`HttpCall.spanId`) that sent it at the boundary (no message being processed above it), '' otherwise. */
  httpCallId: string;
}

export interface MessageModel {
  id: string;
  type: string;
  causationId: string;
  idempotencyKey: string;
  businessKey: string;
  destination: string;
  payloadBytes: number;
  payloadOffloaded: boolean;
  payloadRef: string;
  sends: SendModel[];
  /** Every attempt at every endpoint, in time order. */
  attempts: AttemptModel[];
  /** Attempts per consuming service, in time order. */
  endpoints: Map<string, AttemptModel[]>;
  /** Attempts that recorded this message among their outgoing message ids. */
  listedBy: AttemptModel[];
  /** Services that read its offloaded payload back. */
  fetchedBy: Set<string>;
  sentAtMs: number | null;
  /** Earliest evidence of the message (send, listing or delivery). */
  firstMs: number;
  status: MessageStatus;
  flags: Set<AnomalyKind>;
}

export interface ConversationModel {
  conversationId: string;
  spanCount: number;
  startMs: number;
  endMs: number;
  now: number;
  quietPeriodMs: number;
  /** The quiet period has not passed since the last span ended: nothing is judged lost yet. */
  active: boolean;
  /** In order of first evidence. */
  messages: MessageModel[];
  messagesById: Map<string, MessageModel>;
  httpCalls: HttpCall[];
  edges: CausationEdge[];
  services: string[];
  idempotencyKeys: string[];
  businessKeys: string[];
  /** Method and route of the earliest boundary request, '' when none. */
  boundaryRoute: string;
  /** Name of the earliest span. */
  rootSpanName: string;
}

export interface ModelOptions {
  now: number;
  quietPeriodMs: number;
}

const spanKey = (traceId: string, spanId: string) => `${traceId}/${spanId}`;
const keyOf = (span: SpanRow) => spanKey(span.traceId, span.spanId);

interface Ancestors {
  /** Nearest ancestor that is an attempt span. */
  attempt: SpanRow | null;
  /** Nearest ancestor that is an HTTP server span. */
  server: SpanRow | null;
}
const NO_ANCESTORS: Ancestors = { attempt: null, server: null };

/** Memoized nearest-ancestor lookup within a trace (parentage only; cycles are cut). */
function ancestorIndex(byKey: Map<string, SpanRow>) {
  const memo = new Map<SpanRow, Ancestors>();
  const extend = (span: SpanRow, above: Ancestors): Ancestors => ({
    attempt: isAttemptSpan(span) ? span : above.attempt,
    server: isHttpServer(span) ? span : above.server,
  });
  return (span: SpanRow): Ancestors => {
    const known = memo.get(span);
    if (known) return known;
    const path: SpanRow[] = [];
    let top = NO_ANCESTORS;
    let current = span;
    for (;;) {
      path.push(current);
      const parent = current.parentSpanId ? byKey.get(spanKey(current.traceId, current.parentSpanId)) : undefined;
      // A parent cycle (corrupt data) is cut once the path is longer than the trace could be.
      if (!parent || path.length > byKey.size) break;
      const parentAncestors = memo.get(parent);
      if (parentAncestors) {
        top = extend(parent, parentAncestors);
        break;
      }
      current = parent;
    }
    for (let i = path.length - 1; i >= 0; i -= 1) {
      memo.set(path[i], top);
      top = extend(path[i], top);
    }
    return memo.get(span)!;
  };
}

function compareSpans(a: SpanRow, b: SpanRow): number {
  if (a.startNs !== b.startNs) return a.startNs < b.startNs ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

/** Merges an attempt's spans into one attempt; `root` is the outermost. */
function buildAttempt(root: SpanRow, group: SpanRow[]): AttemptModel {
  let outcome: Outcome | '' = '';
  let outcomeEndMs = -Infinity;
  let attemptNo = 0;
  let statusError = false;
  let retryDelayMs: number | null = null;
  let redelivered = false;
  let messageId = '';
  let messageType = '';
  const outgoing = new Set<string>();
  for (const span of group) {
    // The final verdict is the outcome recorded last.
    if (span.outcome !== '' && endMsOf(span) >= outcomeEndMs) {
      outcome = span.outcome;
      outcomeEndMs = endMsOf(span);
    }
    attemptNo = Math.max(attemptNo, span.attempt);
    statusError ||= span.statusCode === 'error';
    retryDelayMs ??= retryDelayOf(span);
    redelivered ||= isRedelivered(span);
    messageId ||= span.messageId;
    messageType ||= span.messageType;
    for (const id of span.outgoingMessageIds) outgoing.add(id);
  }
  // A recorded outcome is trusted over the span status: `processed` means committed.
  const failed = outcome !== '' ? isFailedOutcome(outcome) : statusError;
  const effective: Outcome = outcome !== '' ? outcome : statusError ? 'failed' : 'processed';
  let error = '';
  if (failed || statusError) {
    for (const span of group) {
      error = errorOf(span);
      if (error) break;
    }
  }
  const startMs = startMsOf(root);
  const delivery: Delivery = {
    service: root.service,
    destination: group.find((span) => span.destination)?.destination ?? '',
    attempt: attemptNo,
    outcome,
    startMs,
    durationMs: root.durationNs / 1e6,
    traceId: root.traceId,
    spanId: root.spanId,
    error,
    retryDelayMs,
    redelivered,
  };
  return {
    span: root,
    messageId,
    messageType,
    service: root.service,
    attempt: attemptNo,
    outcome,
    effective,
    failed,
    error,
    retryDelayMs,
    startMs,
    endMs: endMsOf(root),
    outgoing: [...outgoing],
    delivery,
  };
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

/** The message was produced by a committed attempt (or at the boundary): it must be delivered. */
export function producedByCommitted(message: MessageModel): boolean {
  return (
    message.sends.some((s) => !s.resend && !s.send.fromFailedAttempt) || message.listedBy.some((a) => !a.failed)
  );
}

/** Some attempt that did not commit sent it (or recorded it as outgoing). */
export function producedByFailed(message: MessageModel): boolean {
  return message.sends.some((s) => s.send.fromFailedAttempt) || message.listedBy.some((a) => a.failed);
}

/** The service that produced a message: its first send's, else the first attempt's that listed it. */
export function producerOf(message: MessageModel): string {
  return message.sends[0]?.send.service ?? message.listedBy[0]?.service ?? '';
}

/** Attempt kept work: processed, or skipped as already processed. */
export function isSuccess(attempt: AttemptModel): boolean {
  return attempt.effective === 'processed' || attempt.effective === 'duplicate';
}

function statusOf(message: MessageModel, active: boolean): MessageStatus {
  if (message.attempts.length === 0) return active ? 'in-flight' : 'lost';
  let failing = false;
  for (const attempts of message.endpoints.values()) {
    if (attempts.some((a) => a.effective === 'dead_lettered')) return 'dead-lettered';
    if (!attempts.some(isSuccess)) failing = true;
  }
  return failing ? 'failing' : 'processed';
}

/**
 * Whether the message counts for completeness: a message only an aborted attempt sent and that
 * was never delivered is a rolled-back side effect, not one the flow waits for.
 */
export function countsForCompletion(message: MessageModel): boolean {
  return message.attempts.length > 0 || producedByCommitted(message);
}

const isBareReceive = (attempt: AttemptModel) => attempt.span.operation === 'receive' && attempt.outcome === '';

/**
 * SDKs that emit a `receive` span next to (not around) the `process` span of the same delivery
 * would otherwise show two attempts: a bare receive in the same trace as another attempt of
 * the same endpoint is part of that attempt, not a delivery of its own.
 */
function dropBareReceives(message: MessageModel): void {
  let dropped = false;
  for (const [service, attempts] of message.endpoints) {
    if (!attempts.some(isBareReceive)) continue;
    const processedTraces = new Set(attempts.filter((a) => !isBareReceive(a)).map((a) => a.span.traceId));
    const kept = attempts.filter((a) => !isBareReceive(a) || !processedTraces.has(a.span.traceId));
    if (kept.length === attempts.length) continue;
    message.endpoints.set(service, kept);
    dropped = true;
  }
  if (dropped) message.attempts = [...message.endpoints.values()].flat().sort((a, b) => a.startMs - b.startMs);
}

export function buildConversationModel(input: SpanRow[], options: ModelOptions): ConversationModel {
  const spans = [...input].sort(compareSpans);
  const byKey = new Map<string, SpanRow>();
  for (const span of spans) byKey.set(keyOf(span), span);
  const ancestorsOf = ancestorIndex(byKey);

  let conversationId = '';
  let startMs = Infinity;
  let endMs = -Infinity;
  const services = new Set<string>();
  const idempotencyKeys = new Set<string>();
  const businessKeys = new Set<string>();
  for (const span of spans) {
    conversationId ||= span.conversationId;
    startMs = Math.min(startMs, startMsOf(span));
    endMs = Math.max(endMs, endMsOf(span));
    services.add(span.service);
    if (span.idempotencyKey) idempotencyKeys.add(span.idempotencyKey);
    const businessKey = span.attributes[ATTR_BUSINESS_KEY];
    if (businessKey) businessKeys.add(businessKey);
  }
  if (spans.length === 0) startMs = endMs = options.now;
  const active = options.now < endMs + options.quietPeriodMs;

  // ---- attempts: fold nested spans of the same attempt into the outermost one ----------
  const attemptRoot = new Map<SpanRow, SpanRow>();
  const rootOf = (span: SpanRow): SpanRow => {
    const cached = attemptRoot.get(span);
    if (cached) return cached;
    const chain: SpanRow[] = [];
    const onChain = new Set<SpanRow>();
    let current = span;
    let root = span;
    for (;;) {
      const known = attemptRoot.get(current);
      if (known) {
        root = known;
        break;
      }
      chain.push(current);
      onChain.add(current);
      const parent = ancestorsOf(current).attempt;
      const nested =
        parent !== null &&
        !onChain.has(parent) &&
        parent.service === current.service &&
        (current.messageId === '' || parent.messageId === '' || current.messageId === parent.messageId);
      if (!nested) {
        root = current;
        break;
      }
      current = parent;
    }
    for (const link of chain) attemptRoot.set(link, root);
    return root;
  };
  const attemptGroups = new Map<SpanRow, SpanRow[]>();
  for (const span of spans) {
    if (!isAttemptSpan(span)) continue;
    const root = rootOf(span);
    const group = attemptGroups.get(root);
    if (group) group.push(span);
    else attemptGroups.set(root, [span]);
  }
  const attemptsByRoot = new Map<SpanRow, AttemptModel>();
  for (const [root, group] of attemptGroups) attemptsByRoot.set(root, buildAttempt(root, group));
  const attemptOfSpan = (span: SpanRow | null): AttemptModel | null =>
    span ? (attemptsByRoot.get(rootOf(span)) ?? null) : null;

  // ---- HTTP calls: client spans matched to the server span they caused ----------------
  const serverByParent = new Map<string, SpanRow>();
  for (const span of spans) {
    if (isHttpServer(span) && span.parentSpanId) serverByParent.set(spanKey(span.traceId, span.parentSpanId), span);
  }
  const httpCalls: HttpCall[] = [];
  const callIdOfServer = new Map<SpanRow, string>();
  const matchedServers = new Set<SpanRow>();
  const pushCall = (client: SpanRow | undefined, server: SpanRow | undefined) => {
    const main = (client ?? server)!;
    httpCalls.push({
      client: client?.service ?? '',
      server: server?.service ?? httpPeerOf(main),
      method: httpMethodOf(main) || (server ? httpMethodOf(server) : ''),
      target: httpTargetOf(server, client),
      statusCode: httpStatusOf(main) || (server ? httpStatusOf(server) : 0),
      idempotencyKey: client?.idempotencyKey || server?.idempotencyKey || '',
      startMs: startMsOf(main),
      durationMs: main.durationNs / 1e6,
      traceId: main.traceId,
      spanId: main.spanId,
    });
    if (server) callIdOfServer.set(server, main.spanId);
  };
  let boundaryRoute = '';
  for (const span of spans) {
    if (isHttpClient(span)) {
      const server = serverByParent.get(keyOf(span));
      if (server) matchedServers.add(server);
      pushCall(span, server);
    }
  }
  for (const span of spans) {
    if (isHttpServer(span) && !matchedServers.has(span)) {
      // A request from outside the traced system: the sync/async boundary.
      pushCall(undefined, span);
      boundaryRoute ||= `${httpMethodOf(span)} ${httpTargetOf(span, undefined)}`.trim();
    }
  }

  // ---- messages: sends, deliveries, listings ------------------------------------------
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
  const sends: SendModel[] = [];
  for (const span of spans) {
    if (!isSend(span) || !span.messageId) continue;
    const ancestors = ancestorsOf(span);
    const producer = attemptOfSpan(ancestors.attempt);
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
      },
    };
    sends.push(model);
    const message = messageFor(span.messageId, atMs);
    message.sends.push(model);
    if (message.sentAtMs === null || atMs < message.sentAtMs) message.sentAtMs = atMs;
    absorbIdentity(message, span);
  }
  const attempts = [...attemptsByRoot.values()].sort((a, b) => a.startMs - b.startMs);
  for (const attempt of attempts) {
    if (!attempt.messageId) continue;
    const message = messageFor(attempt.messageId, attempt.startMs);
    message.attempts.push(attempt);
    const atEndpoint = message.endpoints.get(attempt.service);
    if (atEndpoint) atEndpoint.push(attempt);
    else message.endpoints.set(attempt.service, [attempt]);
    for (const span of attemptGroups.get(attempt.span)!) absorbIdentity(message, span);
  }
  for (const message of messagesById.values()) dropBareReceives(message);
  // Outgoing ids of a committed attempt are messages the flow must see delivered; those of an
  // aborted attempt only matter for messages that exist anyway (ghost evidence).
  for (const attempt of attempts) {
    if (attempt.failed) continue;
    for (const id of attempt.outgoing) messageFor(id, attempt.endMs).listedBy.push(attempt);
  }
  for (const attempt of attempts) {
    if (!attempt.failed) continue;
    for (const id of attempt.outgoing) messagesById.get(id)?.listedBy.push(attempt);
  }

  // ---- claim-check fetches ------------------------------------------------------------
  const messagesByRef = new Map<string, MessageModel[]>();
  for (const message of messagesById.values()) {
    if (!message.payloadRef) continue;
    const list = messagesByRef.get(message.payloadRef);
    if (list) list.push(message);
    else messagesByRef.set(message.payloadRef, [message]);
  }
  for (const span of spans) {
    if (!isPayloadFetch(span)) continue;
    const messageId = span.messageId || attemptOfSpan(isAttemptSpan(span) ? span : ancestorsOf(span).attempt)?.messageId;
    const targets = new Set<MessageModel>(messagesByRef.get(payloadRefOf(span)) ?? []);
    const byId = messageId ? messagesById.get(messageId) : undefined;
    if (byId) targets.add(byId);
    for (const message of targets) message.fetchedBy.add(span.service);
  }

  // ---- causation edges ----------------------------------------------------------------
  const edges: CausationEdge[] = [];
  const seenEdges = new Set<string>();
  const addEdge = (from: string, to: string, via: CausationEdge['via']) => {
    if (!from || from === to) return;
    const key = `${from}\u0000${to}`;
    if (seenEdges.has(key)) return;
    seenEdges.add(key);
    edges.push({ from, to, via });
  };
  const messages = [...messagesById.values()].sort((a, b) => a.firstMs - b.firstMs || (a.id < b.id ? -1 : 1));
  for (const message of messages) {
    if (messagesById.has(message.causationId)) addEdge(message.causationId, message.id, 'message');
  }
  for (const attempt of attempts) {
    if (!messagesById.has(attempt.messageId)) continue;
    for (const id of attempt.outgoing) if (messagesById.has(id)) addEdge(attempt.messageId, id, 'message');
  }
  for (const send of sends) {
    if (send.producer && !send.resend && messagesById.has(send.producer.messageId)) {
      addEdge(send.producer.messageId, send.span.messageId, 'message');
    } else if (send.httpCallId) {
      addEdge(send.httpCallId, send.span.messageId, 'http');
    }
  }

  for (const message of messages) message.status = statusOf(message, active);

  return {
    conversationId,
    spanCount: spans.length,
    startMs,
    endMs,
    now: options.now,
    quietPeriodMs: options.quietPeriodMs,
    active,
    messages,
    messagesById,
    httpCalls,
    edges,
    services: [...services].sort(),
    idempotencyKeys: [...idempotencyKeys].sort(),
    businessKeys: [...businessKeys].sort(),
    boundaryRoute,
    rootSpanName: spans[0]?.name ?? '',
  };
}
