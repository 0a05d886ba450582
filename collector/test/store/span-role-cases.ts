/**
 * Spans covering each span role and its edge cases, and what `model/span-roles.ts` says of
 * each: the table both stores' role-SQL tests check their fragments against.
 */
import { httpPeerOf, isAttemptSpan, isHttpClient, isSend } from '../../src/model/span-roles.js';
import type { SpanRow } from '../../src/model/span.js';
import { makeSpan } from '../span-builders.js';

export const SPAN_ROLE_CASES: [string, Partial<SpanRow>][] = [
  ['producer span', { kind: 'producer' }],
  ['internal span with operation send', { kind: 'internal', operation: 'send' }],
  ['internal span with operation create', { kind: 'internal', operation: 'create' }],
  ['consumer span', { kind: 'consumer' }],
  ['consumer span with operation send (a send wins)', { kind: 'consumer', operation: 'send' }],
  ['internal span with operation receive', { kind: 'internal', operation: 'receive' }],
  ['internal span with an outcome', { kind: 'internal', outcome: 'processed' }],
  ['plain internal span', { kind: 'internal' }],
  [
    'client span with http.request.method and peer.service',
    { kind: 'client', attributes: { 'http.request.method': 'GET', 'peer.service': 'billing' } },
  ],
  [
    'client span with legacy http.method and server.address',
    { kind: 'client', attributes: { 'http.method': 'POST', 'server.address': 'pay.example' } },
  ],
  ['client span with only url.full', { kind: 'client', attributes: { 'url.full': 'https://user@stock.example:8443/items?id=1' } }],
  ['client span with a method and no peer', { kind: 'client', attributes: { 'http.request.method': 'GET' } }],
  ['client span without HTTP attributes', { kind: 'client', attributes: { 'db.system': 'postgresql' } }],
  ['server span with a method', { kind: 'server', attributes: { 'http.request.method': 'GET' } }],
];

/** One span per case, in case order. */
export function roleSpans(): SpanRow[] {
  return SPAN_ROLE_CASES.map(([, overrides]) => makeSpan({ outcome: '', operation: '', ...overrides }));
}

/** The roles the TypeScript predicates give a span ('' peer for a span that is no HTTP call). */
export function rolesOf(span: SpanRow): { send: boolean; attempt: boolean; httpClient: boolean; peer: string } {
  return {
    send: isSend(span),
    attempt: isAttemptSpan(span),
    httpClient: isHttpClient(span),
    peer: isHttpClient(span) ? httpPeerOf(span) : '',
  };
}
