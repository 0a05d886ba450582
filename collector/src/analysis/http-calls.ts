/**
 * Conversation model step: HTTP client spans matched to the server span they caused; a server
 * span no client of the flow called is a request from outside, the sync/async boundary.
 *
 * And the one detector that reads the calls (registered under `duplicate-processing`):
 * - a non-idempotent request (POST, PATCH) without an idempotency key that one attempt sent
 *   more than once to the same target, at least one try succeeding (2xx) and every other
 *   either succeeding or left without an answer (a reset or a timeout after the request went
 *   out): the attempt's side effect was executed again by the callee (a client retry after a
 *   lost response charges twice). error, concerning the calling attempt (its message was
 *   processed once, its effect applied twice), the callee named in the detail. Judged from the
 *   client's spans alone, because a third party's are usually not seen: a try that failed
 *   without an answer is taken as executed, which is wrong only when it never reached the
 *   callee. A try answered with an error (4xx, 5xx) is not counted. With an idempotency key the
 *   callee replays its stored response instead, so a repeat is not reported.
 */
import type { Anomaly, HttpCall } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { httpMethodOf, httpPeerOf, httpStatusOf, httpTargetOf, isHttpClient, isHttpServer, startMsOf } from '../model/span-roles.js';
import { anomaly, concernedAttempt, type Detector } from './anomaly-builder.js';
import type { AttemptIndex } from './attempt-grouping.js';
import type { AttemptModel, ConversationModel, MessageModel } from './conversation-types.js';
import { formatDuration, nameOf } from './format.js';
import { keyOf, spanKey, type AncestorLookup } from './span-tree.js';

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

/** Methods whose repeat is a second execution unless the request carries an idempotency key. */
const NON_IDEMPOTENT = new Set(['POST', 'PATCH']);

const succeeded = (call: HttpCall) => call.statusCode >= 200 && call.statusCode < 300;
/** Succeeded, or went out and got no answer (status 0): the callee may have executed it. */
export const mayHaveExecuted = (call: HttpCall) => call.statusCode === 0 || succeeded(call);

/**
 * The attempt each call's client span runs in, by the span tree: its nearest attempt ancestor,
 * or null when its chain of parents reaches the trace's root without one (a call made outside
 * any attempt). A call whose chain breaks first (a parent lost) is left out: `callerOf` then
 * goes by time.
 */
export function callersByTree(
  httpCalls: readonly HttpCall[],
  byKey: ReadonlyMap<string, SpanRow>,
  ancestorsOf: AncestorLookup,
  attempts: Pick<AttemptIndex, 'attemptOfSpan'>,
): Map<HttpCall, AttemptModel | null> {
  const callers = new Map<HttpCall, AttemptModel | null>();
  for (const call of httpCalls) {
    const span = call.client ? byKey.get(spanKey(call.traceId, call.spanId)) : undefined;
    if (!span) continue;
    const attempt = attempts.attemptOfSpan(ancestorsOf(span).attempt);
    if (attempt) callers.set(call, attempt);
    else if (reachesRoot(span, byKey)) callers.set(call, null);
  }
  return callers;
}

function reachesRoot(span: SpanRow, byKey: ReadonlyMap<string, SpanRow>): boolean {
  let current = span;
  for (let hops = 0; hops <= byKey.size; hops += 1) {
    if (!current.parentSpanId) return true;
    const parent = byKey.get(spanKey(current.traceId, current.parentSpanId));
    if (!parent) return false;
    current = parent;
  }
  return false;
}

/**
 * The attempt (and its message) that made the call: by the span tree where its chain of parents
 * is whole, else (a parent lost) the attempt of the client's service in the call's trace whose
 * span encloses it in time — exact unless two such attempts overlap.
 */
export function callerOf(call: HttpCall, model: ConversationModel): [MessageModel, AttemptModel] | undefined {
  const byTree = model.callerOfCall.get(call);
  const attempt =
    byTree !== undefined
      ? byTree
      : model.messages
          .flatMap((m) => m.attempts)
          .find(
            (a) => a.service === call.client && a.span.traceId === call.traceId && a.startMs <= call.startMs && call.startMs <= a.endMs,
          );
  const message = attempt ? model.messagesById.get(attempt.messageId) : undefined;
  return attempt && message ? [message, attempt] : undefined;
}

export const detectRepeatedHttpExecutions: Detector = (model) => {
  const groups = new Map<string, { message: MessageModel; attempt: AttemptModel; calls: HttpCall[] }>();
  for (const call of model.httpCalls) {
    if (!call.client || call.idempotencyKey || !NON_IDEMPOTENT.has(call.method.toUpperCase()) || !mayHaveExecuted(call)) continue;
    const caller = callerOf(call, model);
    if (!caller) continue;
    const [message, attempt] = caller;
    const group = `${attempt.span.traceId}\u0000${attempt.span.spanId}\u0000${call.method}\u0000${call.server}\u0000${call.target}`;
    const known = groups.get(group);
    if (known) known.calls.push(call);
    else groups.set(group, { message, attempt, calls: [call] });
  }
  const found: Anomaly[] = [];
  for (const { message, attempt, calls } of groups.values()) {
    if (calls.length < 2 || !calls.some(succeeded)) continue;
    const [first, again] = [...calls].sort((a, b) => a.startMs - b.startMs);
    const unanswered = calls.filter((c) => !succeeded(c)).length;
    const request = `${first.method} ${first.target}`;
    found.push(
      anomaly(
        model,
        'duplicate-processing',
        'error',
        message,
        concernedAttempt(attempt),
        again.startMs,
        `${request} to ${first.server} sent ${calls.length}× by ${nameOf(message.type, message.id)} attempt ${attempt.attempt || '?'} of ${attempt.service} (${formatDuration(again.startMs - first.startMs)} apart) without an idempotency key${unanswered > 0 ? `, ${unanswered} of them left without an answer` : ''}: ${first.server} executed it each time, so the effect was applied ${calls.length}×; send an Idempotency-Key it deduplicates on`,
      ),
    );
  }
  return found;
};
