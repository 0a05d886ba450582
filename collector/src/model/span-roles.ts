/**
 * What a single span is: a send (producer), a processing attempt (consumer or a span carrying
 * an outcome), an HTTP client or server span, a claim-check fetch or blob store call. Model floor: the analysis
 * reads spans only through these predicates (so a new instrumentation's quirks are absorbed
 * here), and each store's SQL builds its role conditions from `SPAN_ROLES`
 * (`store/duckdb/span-roles-sql.ts`, `store/clickhouse/span-roles-sql.ts`), so a role is
 * defined once.
 */
import {
  ATTR_BLOB_MISSING,
  ATTR_BLOB_OPERATION,
  BLOB_OPERATIONS,
  EVENT_PAYLOAD_OFFLOAD,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_PAYLOAD_FETCHED,
  ATTR_PAYLOAD_REF,
  ATTR_PEER_SERVICE,
  ATTR_RETRY_DELAY_MS,
  ATTR_SERVER_ADDRESS,
  ATTR_URL_FULL,
  type BlobOperation,
  type Outcome,
} from '@onceflow/instrumentation/semconv';
import { nsToMs, type SpanKind, type SpanRow } from './span.js';

/** Legacy (pre-1.21) HTTP attribute names some instrumentations still emit. */
const LEGACY_HTTP_METHOD = 'http.method';
const LEGACY_HTTP_STATUS = 'http.status_code';
const LEGACY_HTTP_TARGET = 'http.target';
const URL_PATH = 'url.path';

// ---- vocabulary (shared with the stores' SQL) ------------------------------------------

/**
 * What each role is, in data: the predicates below read it, and each store's SQL is built from
 * it, so a role is written once.
 * - send: a span of `send.kind`, or one whose messaging operation is in `send.operations`;
 * - attempt (when not a send): `attempt.kind`, an operation in `attempt.operations`, or an outcome;
 * - HTTP client call: a span of `httpClient.kind` carrying one of `httpClient.methodAttributes`
 *   or `httpClient.urlAttribute`;
 * - HTTP peer of a client span: the first non-empty of `httpPeer.attributes`, else the host of
 *   `httpPeer.urlAttribute`, else `httpPeer.unknown`.
 */
export const SPAN_ROLES = {
  send: { kind: 'producer' as SpanKind, operations: ['send', 'create'] as readonly string[] },
  attempt: { kind: 'consumer' as SpanKind, operations: ['process', 'receive'] as readonly string[] },
  httpClient: {
    kind: 'client' as SpanKind,
    methodAttributes: [ATTR_HTTP_REQUEST_METHOD, LEGACY_HTTP_METHOD] as readonly string[],
    urlAttribute: ATTR_URL_FULL,
  },
  httpPeer: {
    attributes: [ATTR_PEER_SERVICE, ATTR_SERVER_ADDRESS] as readonly string[],
    urlAttribute: ATTR_URL_FULL,
    unknown: 'unknown-peer',
  },
} as const;

const SEND_OPERATIONS: ReadonlySet<string> = new Set(SPAN_ROLES.send.operations);
const ATTEMPT_OPERATIONS: ReadonlySet<string> = new Set(SPAN_ROLES.attempt.operations);

// ---- predicates ------------------------------------------------------------------------

/** A producer span: one publish/send of a message. */
export function isSend(span: SpanRow): boolean {
  return span.kind === SPAN_ROLES.send.kind || SEND_OPERATIONS.has(span.operation);
}

/**
 * A processing attempt: a consumer span (with or without an outcome), or any other span that
 * records an outcome (instrumentations of custom transports may use internal spans).
 */
export function isAttemptSpan(span: SpanRow): boolean {
  if (isSend(span)) return false;
  return span.kind === SPAN_ROLES.attempt.kind || ATTEMPT_OPERATIONS.has(span.operation) || span.outcome !== '';
}

export function httpMethodOf(span: SpanRow): string {
  for (const key of SPAN_ROLES.httpClient.methodAttributes) {
    const method = span.attributes[key];
    if (method !== undefined) return method;
  }
  return '';
}

export function isHttpClient(span: SpanRow): boolean {
  return span.kind === SPAN_ROLES.httpClient.kind && (httpMethodOf(span) !== '' || SPAN_ROLES.httpClient.urlAttribute in span.attributes);
}

export function isHttpServer(span: SpanRow): boolean {
  return span.kind === 'server' && (httpMethodOf(span) !== '' || ATTR_HTTP_ROUTE in span.attributes);
}

/** A span that read an offloaded payload back (claim check). */
export function isPayloadFetch(span: SpanRow): boolean {
  return span.attributes[ATTR_PAYLOAD_FETCHED] === 'true';
}

/** What a blob store client span did with a claim-check blob, null when it is no blob operation. */
export function blobOperationOf(span: SpanRow): BlobOperation | null {
  const operation = span.attributes[ATTR_BLOB_OPERATION];
  return (BLOB_OPERATIONS as readonly string[]).includes(operation ?? '') ? (operation as BlobOperation) : null;
}

/** A blob read that found nothing (a 404). */
export function isBlobMissing(span: SpanRow): boolean {
  return span.attributes[ATTR_BLOB_MISSING] === 'true';
}

/** The blobs an attempt span recorded as offloaded bodies of its messages (`onceflow.payload.offload` events). */
export function offloadedRefsOf(span: SpanRow): string[] {
  return span.events
    .filter((e) => e.name === EVENT_PAYLOAD_OFFLOAD && e.attributes[ATTR_PAYLOAD_REF])
    .map((e) => e.attributes[ATTR_PAYLOAD_REF]);
}

export function payloadRefOf(span: SpanRow): string {
  return span.payloadRef || span.attributes[ATTR_PAYLOAD_REF] || '';
}

export function startMsOf(span: SpanRow): number {
  return nsToMs(span.startNs);
}

export function endMsOf(span: SpanRow): number {
  return nsToMs(span.startNs) + span.durationNs / 1e6;
}

export function httpStatusOf(span: SpanRow): number {
  const raw = span.attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] ?? span.attributes[LEGACY_HTTP_STATUS];
  const code = raw === undefined ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(code) ? code : 0;
}

function urlOf(span: SpanRow): URL | null {
  const raw = span.attributes[SPAN_ROLES.httpPeer.urlAttribute];
  if (!raw) return null;
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

/** Who a client span called when the serving span was not seen: peer.service, server.address, URL host. */
export function httpPeerOf(span: SpanRow): string {
  for (const key of SPAN_ROLES.httpPeer.attributes) {
    const peer = span.attributes[key];
    if (peer) return peer;
  }
  return urlOf(span)?.hostname || SPAN_ROLES.httpPeer.unknown;
}

/** Route of a server span, else the path of the request. */
export function httpTargetOf(server: SpanRow | undefined, client: SpanRow | undefined): string {
  const route = server?.attributes[ATTR_HTTP_ROUTE];
  if (route) return route;
  const path = server?.attributes[URL_PATH] ?? server?.attributes[LEGACY_HTTP_TARGET];
  if (path) return path;
  const url = client ? urlOf(client) : null;
  if (url) return url.pathname;
  return client?.attributes[URL_PATH] ?? server?.name ?? client?.name ?? '';
}

/** Broker redelivery flag (amqplib's is read in a consume hook and stored as `*.redelivered`). */
export function isRedelivered(span: SpanRow): boolean {
  if (span.attempt > 1) return true;
  for (const key in span.attributes) {
    if (key.endsWith('redelivered') && span.attributes[key] === 'true') return true;
  }
  return false;
}

export function retryDelayOf(span: SpanRow): number | null {
  const raw = span.attributes[ATTR_RETRY_DELAY_MS];
  if (raw === undefined) return null;
  const delay = Number(raw);
  return Number.isFinite(delay) ? delay : null;
}

/** Status message, else the message of the first `exception` event, else ''. */
export function errorOf(span: SpanRow): string {
  if (span.statusMessage) return span.statusMessage;
  for (const event of span.events) {
    if (event.name === 'exception') {
      const message = event.attributes['exception.message'] ?? event.attributes['exception.type'];
      if (message) return message;
    }
  }
  return span.attributes['exception.message'] ?? '';
}

/** Outcomes after which the attempt did not commit its work. */
const FAILED_OUTCOMES: ReadonlySet<Outcome | ''> = new Set(['failed', 'retry_scheduled', 'dead_lettered']);

export function isFailedOutcome(outcome: Outcome | ''): boolean {
  return FAILED_OUTCOMES.has(outcome);
}
