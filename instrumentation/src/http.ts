/**
 * HTTP through instrumentation-http and instrumentation-undici's request hooks.
 *
 * - A served request opens a request scope on the server span: conversation and causation
 *   from the `onceflow-*` headers (or W3C baggage); a request without them is the boundary
 *   and starts a conversation. `Idempotency-Key` becomes the idempotency key, and messages
 *   sent while serving the request inherit it. Express's spans are children of the server
 *   span, so they join the scope through the span processor.
 * - An outgoing call (node:http, fetch/undici) made inside a scope carries the conversation
 *   and causation (the propagator writes them); its client span records its own
 *   `Idempotency-Key`, so retries of one call can be matched.
 *
 * - A served response names its service in the `onceflow-service` header; a client span whose
 *   response carries it records it as `peer.service`, so the system map shows the serving
 *   service rather than `127.0.0.1`. A server without Onceflow sends no such header and stays
 *   an address. A later call to the same `host:port` that fails before any response keeps the
 *   service name that address last announced.
 *
 * HTTP requests are not messages: they carry no `onceflow-message-id` of their own, so a call
 * to a third party is never mistaken for a message that was never consumed.
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Span } from '@opentelemetry/api';
import type { HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';
import type { UndiciInstrumentationConfig, UndiciRequest, UndiciResponse } from '@opentelemetry/instrumentation-undici';
import { setIdentityAttributes } from './attributes.js';
import { readBaggageHeader } from './baggage.js';
import { guard } from './guard.js';
import { HTTP_INSTRUMENTATION, markHooked } from './hooked.js';
import { deterministicMessageId, headerString, newId, readIdentityHeaders } from './identity.js';
import { newMessageScope, newRequestScope, scopeOfSpan } from './scope.js';
import { serviceOfSpan } from './endpoint.js';
import { ATTR_CAUSATION_ID, ATTR_IDEMPOTENCY_KEY, ATTR_PEER_SERVICE, HEADER_SERVICE, HTTP_HEADER_IDEMPOTENCY_KEY } from './semconv.js';

/** Conversation id of a boundary request that carries an `Idempotency-Key`: a retry of it joins the same flow. */
export function conversationForIdempotencyKey(key: string): string {
  return deterministicMessageId('conversation', key);
}

export function httpServerRequestHook(span: Span, request: IncomingMessage): void {
  const headers = request.headers;
  const found = readIdentityHeaders(headers);
  const fromBaggage = found.conversationId ? {} : readBaggageHeader(headerString(headers.baggage));
  const idempotencyKey = headerString(headers[HTTP_HEADER_IDEMPOTENCY_KEY]) ?? found.idempotencyKey;
  const conversationId =
    found.conversationId ?? fromBaggage.conversationId ?? (idempotencyKey ? conversationForIdempotencyKey(idempotencyKey) : newId());
  const causationId = found.causationId ?? fromBaggage.causationId;
  if (found.messageId) {
    // A message delivered over HTTP (e.g. by another language's Onceflow SDK): handle it as one.
    const message = { ...found, messageId: found.messageId, conversationId, attempt: found.attempt ?? 1 };
    if (causationId) message.causationId = causationId;
    if (idempotencyKey) message.idempotencyKey = idempotencyKey;
    newMessageScope(span, message);
    setIdentityAttributes(span, message);
    return;
  }
  const existing = scopeOfSpan(span);
  const scope = existing && existing.span === span ? existing : newRequestScope(span, { conversationId, causationId });
  scope.conversationId = conversationId;
  scope.outgoingCausationId = causationId;
  scope.outgoingIdempotencyKey = idempotencyKey;
  if (causationId) span.setAttribute(ATTR_CAUSATION_ID, causationId);
  if (idempotencyKey) span.setAttribute(ATTR_IDEMPOTENCY_KEY, idempotencyKey);
}

export function httpClientRequestHook(span: Span, request: ClientRequest): void {
  const key = headerString(request.getHeader(HTTP_HEADER_IDEMPOTENCY_KEY));
  clientCallAttributes(span, key);
  knownPeerService(span, clientRequestOrigin(request));
}

export function undiciRequestHook(span: Span, request: UndiciRequest): void {
  clientCallAttributes(span, undiciHeader(request.headers, HTTP_HEADER_IDEMPOTENCY_KEY));
  knownPeerService(span, undiciOrigin(request));
}

/** A printable service name that fits in a header value; anything else is not announced or trusted. */
const SERVICE_NAME = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;

/** Server side: announce this process's `service.name` (from the span's resource) on the response. */
export function httpServerResponseHook(span: Span, response: ServerResponse): void {
  const name = serviceOfSpan(span);
  if (name !== undefined && SERVICE_NAME.test(name) && !response.headersSent) response.setHeader(HEADER_SERVICE, name);
}

/** Client side: the answering service, when it announced itself, is the span's `peer.service`. */
export function httpClientResponseHook(span: Span, response: IncomingMessage): void {
  const request = (response as { req?: ClientRequest }).req;
  peerService(span, request ? clientRequestOrigin(request) : undefined, headerString(response.headers[HEADER_SERVICE]));
}

export function undiciResponseHook(span: Span, request: UndiciRequest, response: UndiciResponse): void {
  peerService(span, undiciOrigin(request), undiciHeader(response.headers, HEADER_SERVICE));
}

/**
 * `host:port` → the service that last answered from there. A call that fails before any
 * response (reset, timeout) is still attributed to the service known at that address, so
 * the map does not show a separate `127.0.0.1` node for a service's failures. Bounded: the
 * oldest entry goes when full.
 */
const knownPeers = new Map<string, string>();
const KNOWN_PEERS_MAX = 1024;

function peerService(span: Span, origin: string | undefined, name: string | undefined): void {
  if (name !== undefined && SERVICE_NAME.test(name)) {
    span.setAttribute(ATTR_PEER_SERVICE, name);
    if (origin && knownPeers.get(origin) !== name) {
      knownPeers.delete(origin);
      if (knownPeers.size >= KNOWN_PEERS_MAX) knownPeers.delete(knownPeers.keys().next().value!);
      knownPeers.set(origin, name);
    }
  } else if (origin) {
    // Answered without the header: whatever serves there now is not an Onceflow service.
    knownPeers.delete(origin);
  }
}

function knownPeerService(span: Span, origin: string | undefined): void {
  const name = origin ? knownPeers.get(origin) : undefined;
  if (name) span.setAttribute(ATTR_PEER_SERVICE, name);
}

function clientRequestOrigin(request: ClientRequest): string | undefined {
  return headerString(request.getHeader('host'))?.toLowerCase();
}

/** undici's `origin` is `scheme://host[:port]`; the key is `host[:port]`, as node:http's Host header. */
function undiciOrigin(request: UndiciRequest): string | undefined {
  const origin = typeof request.origin === 'string' ? request.origin : undefined;
  return origin?.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').toLowerCase();
}

function clientCallAttributes(span: Span, idempotencyKey: string | undefined): void {
  if (idempotencyKey) span.setAttribute(ATTR_IDEMPOTENCY_KEY, idempotencyKey);
  const scope = scopeOfSpan(span);
  if (scope?.outgoingCausationId) span.setAttribute(ATTR_CAUSATION_ID, scope.outgoingCausationId);
}

/**
 * undici ≥6 keeps request headers as a flat [name, value, …] array, v5 as one raw string;
 * response headers are a flat array of Buffers.
 */
function undiciHeader(headers: unknown, name: string): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) return headerString(headers[i + 1]);
    }
    return undefined;
  }
  if (typeof headers === 'string') {
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
    }
  }
  return undefined;
}

function isClientRequest(request: ClientRequest | IncomingMessage): request is ClientRequest {
  return typeof (request as ClientRequest).getHeader === 'function';
}

/** The server's response can set headers; the client's is an IncomingMessage that cannot. */
function isServerResponse(response: IncomingMessage | ServerResponse): response is ServerResponse {
  return typeof (response as ServerResponse).setHeader === 'function';
}

export function httpConfig(user: HttpInstrumentationConfig = {}): HttpInstrumentationConfig {
  markHooked(HTTP_INSTRUMENTATION);
  const theirs = user.requestHook;
  const theirResponseHook = user.responseHook;
  return {
    ...user,
    requestHook: (span, request) => {
      guard('http requestHook', () => {
        if (isClientRequest(request)) httpClientRequestHook(span, request);
        else httpServerRequestHook(span, request);
      });
      if (theirs) guard('http requestHook (application hook)', () => theirs(span, request));
    },
    // Called for a served request before the application's handler runs (headers not sent
    // yet), and for an outgoing call when its response head arrives.
    responseHook: (span, response) => {
      guard('http responseHook', () => {
        if (isServerResponse(response)) httpServerResponseHook(span, response);
        else httpClientResponseHook(span, response);
      });
      if (theirResponseHook) guard('http responseHook (application hook)', () => theirResponseHook(span, response));
    },
  };
}

export function undiciConfig(user: UndiciInstrumentationConfig = {}): UndiciInstrumentationConfig {
  const theirs = user.requestHook;
  const theirResponseHook = user.responseHook;
  return {
    ...user,
    requestHook: (span, request) => {
      guard('undici requestHook', () => undiciRequestHook(span, request));
      if (theirs) guard('undici requestHook (application hook)', () => theirs(span, request));
    },
    responseHook: (span, info) => {
      guard('undici responseHook', () => undiciResponseHook(span, info.request, info.response));
      if (theirResponseHook) guard('undici responseHook (application hook)', () => theirResponseHook(span, info));
    },
  };
}
