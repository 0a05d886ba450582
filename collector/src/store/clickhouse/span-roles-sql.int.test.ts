/**
 * The ClickHouse role fragments decide what the TypeScript predicates of `model/span-roles.ts`
 * decide, span by span, on the real server: both are built from `SPAN_ROLES`.
 */
import { CLICKHOUSE_URL, requireClickHouse } from '@onceflow/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPAN_ROLE_CASES as CASES, roleSpans, rolesOf } from '../../../test/store/span-role-cases.js';
import { testDatabaseName } from '../../../test/store/test-database.js';
import type { QueryRunner } from './clickhouse-client.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { HTTP_PEER, IS_ATTEMPT, IS_HTTP_CLIENT, IS_SEND } from './span-roles-sql.js';
import { sql, sqlDatabase } from './sql-escape.js';

const ok = await requireClickHouse();

describe.skipIf(!ok)('ClickHouse span roles agree with model/span-roles.ts', () => {
  const database = testDatabaseName();
  const store = new ClickHouseStore({ url: CLICKHOUSE_URL, database });
  const spans = roleSpans();
  let rows: Map<string, { is_send: number; is_attempt: number; is_http_client: number; peer: string }>;

  beforeAll(async () => {
    await store.init();
    await store.insertSpans(spans);
    const runner = (store as unknown as { runner: QueryRunner }).runner;
    const found = await runner.rows<{ span_id: string; is_send: number; is_attempt: number; is_http_client: number; peer: string }>(
      sql`SELECT span_id, ${IS_SEND} AS is_send, ${IS_ATTEMPT} AS is_attempt, ${IS_HTTP_CLIENT} AS is_http_client,
  if(${IS_HTTP_CLIENT}, ${HTTP_PEER}, '') AS peer FROM ${sqlDatabase(database)}.spans`,
    );
    rows = new Map(found.map((row) => [row.span_id, row]));
  });
  afterAll(async () => {
    await store.dropDatabase();
    await store.close();
  });

  it.each(CASES.map(([name], i) => [name, i] as const))('%s', (_, i) => {
    const span = spans[i];
    const row = rows.get(span.spanId)!;
    expect({
      send: Number(row.is_send) === 1,
      attempt: Number(row.is_attempt) === 1,
      httpClient: Number(row.is_http_client) === 1,
      peer: row.peer,
    }).toEqual(rolesOf(span));
  });
});
