/**
 * The DuckDB role fragments decide what the TypeScript predicates of `model/span-roles.ts`
 * decide, span by span: both are built from `SPAN_ROLES`, and this pins that they agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPAN_ROLE_CASES as CASES, roleSpans, rolesOf } from '../../../test/store/span-role-cases.js';
import type { DuckDbClient } from './duckdb-client.js';
import { DuckDbStore } from './duckdb-store.js';
import { HTTP_PEER, IS_ATTEMPT, IS_HTTP_CLIENT, IS_SEND } from './span-roles-sql.js';

describe('DuckDB span roles agree with model/span-roles.ts', () => {
  const store = new DuckDbStore({ path: ':memory:' });
  const spans = roleSpans();
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
    expect({ send: row.is_send, attempt: row.is_attempt, httpClient: row.is_http_client, peer: row.peer ?? '' }).toEqual(rolesOf(span));
  });
});
