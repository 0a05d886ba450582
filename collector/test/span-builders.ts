/**
 * Small builders for `SpanRow`s, used by the analysis tests, the store conformance suite, the
 * API tests and the fixture flows. Everything is deterministic: ids come from a counter (reset
 * with `resetSpanIds()`) or from an explicit seed (`hexId(seed)`), times are epoch ms passed in.
 *
 * A typical flow reads like the trace it builds:
 *
 *   const http = httpServer({ service: 'shop-api', route: '/orders', atMs: t0, conversationId });
 *   const submit = send({ parent: http, messageId: 'm1', messageType: 'SubmitOrder', destination: 'orders', atMs: t0 + 5 });
 *   const handle = attempt({ parent: submit, service: 'orders', outcome: 'processed', atMs: t0 + 20 });
 *
 * `parent` links a span into its parent's trace (trace id, parent span id) and inherits the
 * conversation id; an attempt parented on a send also inherits the message's identity
 * (message id, type, causation id, destination), as a consumer span does in a real trace.
 */
import type { BlobOperation, Outcome } from '@onceflow/instrumentation/semconv';
import {
  ATTR_BLOB_MISSING,
  ATTR_BLOB_OPERATION,
  ATTR_BUSINESS_KEY,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_PAYLOAD_FETCHED,
  ATTR_PAYLOAD_REF,
  ATTR_PEER_SERVICE,
  ATTR_RETRY_DELAY_MS,
  ATTR_SERVER_ADDRESS,
  ATTR_URL_FULL,
} from '@onceflow/instrumentation/semconv';
import { msToNs, type SpanRow } from '../src/model/span.js';

let counter = 0;

/** Restarts the id counter so a test's ids do not depend on which tests ran before. */
export function resetSpanIds(): void {
  counter = 0;
}

/** The next counter value as `length` lower-case hex characters (16 for spans, 32 for traces). */
export function nextHexId(length: 16 | 32 = 16): string {
  counter += 1;
  return counter.toString(16).padStart(length, '0');
}

/** A deterministic hex id derived from a seed string (FNV-1a, repeated to the length). */
export function hexId(seed: string, length: 16 | 32 = 16): string {
  let out = '';
  let round = 0;
  while (out.length < length) {
    let hash = 0x811c9dc5 ^ round;
    for (let i = 0; i < seed.length; i += 1) {
      hash ^= seed.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    out += hash.toString(16).padStart(8, '0');
    round += 1;
  }
  return out.slice(0, length);
}

/** A complete span with empty identity; any field can be overridden. */
export function makeSpan(overrides: Partial<SpanRow> = {}): SpanRow {
  return {
    traceId: overrides.traceId ?? nextHexId(32),
    spanId: overrides.spanId ?? nextHexId(16),
    parentSpanId: '',
    service: 'unknown_service',
    name: 'span',
    kind: 'internal',
    statusCode: 'unset',
    statusMessage: '',
    startNs: msToNs(0),
    durationNs: 1_000_000,
    messageId: '',
    conversationId: '',
    causationId: '',
    idempotencyKey: '',
    messageType: '',
    attempt: 0,
    outcome: '',
    payloadBytes: 0,
    payloadOffloaded: false,
    payloadRef: '',
    destination: '',
    operation: '',
    messagingSystem: '',
    outgoingMessageIds: [],
    links: [],
    events: [],
    attributes: {},
    resourceAttributes: { 'service.name': overrides.service ?? 'unknown_service' },
    ...overrides,
  };
}

/** Fields every builder accepts. */
export interface CommonSpec {
  service?: string;
  /** Start, epoch ms. */
  atMs: number;
  durationMs?: number;
  /** The parent span: its trace id and conversation id are inherited. */
  parent?: SpanRow;
  traceId?: string;
  spanId?: string;
  conversationId?: string;
  idempotencyKey?: string;
  /** `onceflow.business_key` (e.g. an order id). */
  businessKey?: string;
  attributes?: Record<string, string>;
}

function common(spec: CommonSpec, service: string): Partial<SpanRow> {
  const attributes: Record<string, string> = { ...spec.attributes };
  if (spec.businessKey) attributes[ATTR_BUSINESS_KEY] = spec.businessKey;
  return {
    service,
    resourceAttributes: { 'service.name': service },
    traceId: spec.traceId ?? spec.parent?.traceId ?? nextHexId(32),
    spanId: spec.spanId ?? nextHexId(16),
    parentSpanId: spec.parent?.spanId ?? '',
    conversationId: spec.conversationId ?? spec.parent?.conversationId ?? '',
    idempotencyKey: spec.idempotencyKey ?? '',
    startNs: msToNs(spec.atMs),
    durationNs: Math.round((spec.durationMs ?? 2) * 1_000_000),
    attributes,
  };
}

export interface SendSpec extends CommonSpec {
  messageId: string;
  messageType: string;
  /** Defaults to the message id of the nearest attempt passed as `parent`, else ''. */
  causationId?: string;
  destination?: string;
  /** Claim check: the body was offloaded to a blob store. */
  payload?: { bytes: number; ref?: string };
  /** `messaging.operation.type`; defaults to `send`. */
  operation?: 'send' | 'create';
}

/** A producer span: one publish/send of a message. */
export function send(spec: SendSpec): SpanRow {
  const service = spec.service ?? spec.parent?.service ?? 'unknown_service';
  const parentIsAttempt = spec.parent?.kind === 'consumer';
  const offloaded = spec.payload?.ref !== undefined;
  return makeSpan({
    ...common(spec, service),
    name: `${spec.destination ?? spec.messageType} send`,
    kind: 'producer',
    messageId: spec.messageId,
    messageType: spec.messageType,
    causationId: spec.causationId ?? (parentIsAttempt ? spec.parent!.messageId : ''),
    destination: spec.destination ?? spec.messageType,
    operation: spec.operation ?? 'send',
    messagingSystem: 'rabbitmq',
    payloadBytes: spec.payload?.bytes ?? 0,
    payloadOffloaded: offloaded,
    payloadRef: spec.payload?.ref ?? '',
  });
}

export interface AttemptSpec extends CommonSpec {
  /** The consuming endpoint. Required: an attempt is always some endpoint's. */
  service: string;
  /** Inherited from a `send` parent when omitted. */
  messageId?: string;
  messageType?: string;
  causationId?: string;
  destination?: string;
  /** 1-based; defaults to 1. Pass 0 to record no attempt number. */
  attempt?: number;
  /** Omit (or '') for a consumer that recorded no outcome. */
  outcome?: Outcome | '';
  /** Error message: sets status error and adds an `exception` event. */
  error?: string;
  /** Put the error only in an `exception` event, not in the status message. */
  errorInEventOnly?: boolean;
  retryDelayMs?: number;
  /** Ids of the messages this attempt produced (`onceflow.outgoing_message_ids`). */
  outgoing?: string[];
  /** Broker redelivery flag (`messaging.rabbitmq.redelivered`). */
  redelivered?: boolean;
  payload?: { bytes: number; ref?: string };
}

/** A consumer span: one processing attempt of a message at one endpoint. */
export function attempt(spec: AttemptSpec): SpanRow {
  const fromSend = spec.parent?.kind === 'producer' ? spec.parent : undefined;
  const base = common(spec, spec.service);
  const attributes = { ...base.attributes };
  if (spec.retryDelayMs !== undefined) attributes[ATTR_RETRY_DELAY_MS] = String(spec.retryDelayMs);
  if (spec.redelivered) attributes['messaging.rabbitmq.redelivered'] = 'true';
  const errorEvent = spec.error
    ? [
        {
          timeNs: msToNs(spec.atMs + (spec.durationMs ?? 2)),
          name: 'exception',
          attributes: { 'exception.type': 'Error', 'exception.message': spec.error },
        },
      ]
    : [];
  const destination = spec.destination ?? fromSend?.destination ?? '';
  return makeSpan({
    ...base,
    attributes,
    name: `${destination || spec.service} process`,
    kind: 'consumer',
    messageId: spec.messageId ?? fromSend?.messageId ?? '',
    messageType: spec.messageType ?? fromSend?.messageType ?? '',
    causationId: spec.causationId ?? fromSend?.causationId ?? '',
    idempotencyKey: spec.idempotencyKey ?? fromSend?.idempotencyKey ?? '',
    destination,
    operation: 'process',
    messagingSystem: 'rabbitmq',
    attempt: spec.attempt ?? 1,
    outcome: spec.outcome ?? '',
    statusCode: spec.error ? 'error' : spec.outcome === 'processed' ? 'ok' : 'unset',
    statusMessage: spec.error && !spec.errorInEventOnly ? spec.error : '',
    events: errorEvent,
    outgoingMessageIds: spec.outgoing ?? [],
    payloadBytes: spec.payload?.bytes ?? fromSend?.payloadBytes ?? 0,
    payloadOffloaded: spec.payload ? spec.payload.ref !== undefined : (fromSend?.payloadOffloaded ?? false),
    payloadRef: spec.payload?.ref ?? fromSend?.payloadRef ?? '',
  });
}

export interface HttpServerSpec extends CommonSpec {
  service: string;
  method?: string;
  route: string;
  statusCode?: number;
}

/** A server span: an HTTP request handled by `service` (the boundary when it has no parent). */
export function httpServer(spec: HttpServerSpec): SpanRow {
  const method = spec.method ?? 'POST';
  const base = common(spec, spec.service);
  const status = spec.statusCode ?? 200;
  return makeSpan({
    ...base,
    attributes: {
      ...base.attributes,
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_HTTP_ROUTE]: spec.route,
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: String(status),
    },
    name: `${method} ${spec.route}`,
    kind: 'server',
    statusCode: status >= 500 ? 'error' : 'unset',
  });
}

export interface HttpClientSpec extends CommonSpec {
  service: string;
  method?: string;
  /** Full URL; its host becomes `server.address`. */
  url: string;
  /** `peer.service`, when the caller names the callee. */
  peerService?: string;
  statusCode?: number;
}

/** A client span: an outgoing HTTP request from `service`. */
export function httpClient(spec: HttpClientSpec): SpanRow {
  const method = spec.method ?? 'POST';
  const base = common(spec, spec.service);
  const status = spec.statusCode ?? 200;
  const attributes: Record<string, string> = {
    ...base.attributes,
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_URL_FULL]: spec.url,
    [ATTR_SERVER_ADDRESS]: new URL(spec.url).hostname,
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: String(status),
  };
  if (spec.peerService) attributes[ATTR_PEER_SERVICE] = spec.peerService;
  return makeSpan({
    ...base,
    attributes,
    name: method,
    kind: 'client',
    statusCode: status >= 400 ? 'error' : 'unset',
  });
}

export interface PayloadFetchSpec extends CommonSpec {
  service?: string;
  ref: string;
  messageId?: string;
}

/** An internal span that read an offloaded payload back (claim check fetch). */
export function payloadFetch(spec: PayloadFetchSpec): SpanRow {
  const service = spec.service ?? spec.parent?.service ?? 'unknown_service';
  const base = common(spec, service);
  return makeSpan({
    ...base,
    attributes: { ...base.attributes, [ATTR_PAYLOAD_FETCHED]: 'true', [ATTR_PAYLOAD_REF]: spec.ref },
    name: 'blob get',
    kind: 'internal',
    messageId: spec.messageId ?? (spec.parent?.kind === 'consumer' ? spec.parent.messageId : ''),
    payloadRef: spec.ref,
  });
}

export interface BlobCallSpec extends CommonSpec {
  service?: string;
  operation: BlobOperation;
  ref: string;
  bytes?: number;
  /** A `get` that found nothing (404): status error. */
  missing?: boolean;
}

/** A blob store client span (claim check): `blob put|get|delete` of `ref`. */
export function blobCall(spec: BlobCallSpec): SpanRow {
  const service = spec.service ?? spec.parent?.service ?? 'unknown_service';
  const base = common(spec, service);
  const attributes: Record<string, string> = { ...base.attributes, [ATTR_BLOB_OPERATION]: spec.operation };
  if (spec.missing) attributes[ATTR_BLOB_MISSING] = 'true';
  return makeSpan({
    ...base,
    attributes,
    name: `blob ${spec.operation}`,
    kind: 'client',
    statusCode: spec.missing ? 'error' : 'unset',
    statusMessage: spec.missing ? `blob ${spec.ref} is missing (404)` : '',
    payloadRef: spec.ref,
    payloadBytes: spec.bytes ?? 0,
  });
}
