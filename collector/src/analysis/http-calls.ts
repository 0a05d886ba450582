/**
 * Conversation model step: HTTP client spans matched to the server span they caused; a server
 * span no client of the flow called is a request from outside, the sync/async boundary.
 */
import type { HttpCall } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { httpMethodOf, httpPeerOf, httpStatusOf, httpTargetOf, isHttpClient, isHttpServer, startMsOf } from '../model/span-roles.js';
import { keyOf, spanKey } from './span-tree.js';

export interface HttpCallIndex {
  httpCalls: HttpCall[];
  /** The call (`HttpCall.spanId`) each server span belongs to. */
  callIdOfServer: Map<SpanRow, string>;
  /** Method and route of the earliest boundary request, '' when none. */
  boundaryRoute: string;
}

function toHttpCall(client: SpanRow | undefined, server: SpanRow | undefined): HttpCall {
  const main = (client ?? server)!;
  return {
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
  };
}

export function matchHttpCalls(spans: SpanRow[]): HttpCallIndex {
  const serverByParent = new Map<string, SpanRow>();
  for (const span of spans) {
    if (isHttpServer(span) && span.parentSpanId) serverByParent.set(spanKey(span.traceId, span.parentSpanId), span);
  }
  const httpCalls: HttpCall[] = [];
  const callIdOfServer = new Map<SpanRow, string>();
  const matchedServers = new Set<SpanRow>();
  const pushCall = (client: SpanRow | undefined, server: SpanRow | undefined) => {
    const call = toHttpCall(client, server);
    httpCalls.push(call);
    if (server) callIdOfServer.set(server, call.spanId);
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
  return { httpCalls, callIdOfServer, boundaryRoute };
}
