/**
 * The DuckDB role fragments decide what the TypeScript predicates of `model/span-roles.ts`
 * decide, span by span: both are built from `SPAN_ROLES`, and this pins that they agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpPeerOf, isAttemptSpan, isHttpClient, isSend } from '../../model/span-roles.js';
import type { SpanRow } from '../../model/span.js';
import { makeSpan } from '../../../test/span-builders.js';
import type { DuckDbClient } from './duckdb-client.js';
import { DuckDbStore } from './duckdb-store.js';
import { HTTP_PEER, IS_ATTEMPT, IS_HTTP_CLIENT, IS_SEND } from './span-roles-sql.js';

const CASES: [string, Partial<SpanRow>][] = [
  ['producer span', { kind: 'producer' }],
  ['internal span with operation send', { kind: 'internal', operation: 'send' }],
  ['internal span with operation create', { kind: 'internal', operation: 'create' }],
  ['consumer span', { kind: 'consumer' }],
  ['consumer span with operation send (a send wins)', { kind: 'consumer', operation: 'send' }],
  ['internal span with operation receive', { kind: 'internal', operation: 'receive' }],
  ['internal span with an outcome', { kind: 'internal', outcome: 'processed' }],
  ['plain internal span', { kind: 'internal' }],
  ['client span with http.request.method and peer.service', { kind: 'client', attributes: { 'http.request.method': 'GET', 'peer.service': 'billing' } }],
  ['client span with legacy http.method and server.address', { kind: 'client', attributes: { 'http.method': 'POST', 'server.address': 'pay.example' } }],
  ['client span with only url.full', { kind: 'client', attributes: { 'url.full': 'https://user@stock.example:8443/items?id=1' } }],
  ['client span with a method and no peer', { kind: 'client', attributes: { 'http.request.method': 'GET' } }],
  ['client span without HTTP attributes', { kind: 'client', attributes: { 'db.system': 'postgresql' } }],
  ['server span with a method', { kind: 'server', attributes: { 'http.request.method': 'GET' } }],
];

describe('DuckDB span roles agree with model/span-roles.ts', () => {
  const store = new DuckDbStore({ path: ':memory:' });
  const spans = CASES.map(([, overrides]) => makeSpan({ outcome: '', operation: '', ...overrides }));
  let rows: Map<string, Record<string, unknown>>;

  beforeAll(async () => {
    await store.init();
    await store.insertSpans(spans);
    const client = (store as unknown as { client: DuckDbClient }).client;
    const found = await client.query(
      `SELECT span_id, ${IS_SEND} AS is_send, ${IS_ATTEMPT} AS is_attempt, ${IS_HTTP_CLIENT} AS is_http_client,
         CASE WHEN ${IS_HTTP_CLIENT} THEN ${HTTP_PEER} END AS peer FROM spans`,
    );
    rows = new Map(found.map((row) => [row.span_id as string, row]));
  });
  afterAll(() => store.close());

  it.each(CASES.map(([name], i) => [name, i] as const))('%s', (_, i) => {
    const span = spans[i];
    const row = rows.get(span.spanId)!;
    expect({ send: row.is_send, attempt: row.is_attempt, httpClient: row.is_http_client, peer: row.peer }).toEqual({
      send: isSend(span),
      attempt: isAttemptSpan(span),
      httpClient: isHttpClient(span),
      peer: isHttpClient(span) ? httpPeerOf(span) : null,
    });
  });
});
