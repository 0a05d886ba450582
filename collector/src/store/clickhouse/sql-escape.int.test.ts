/**
 * The escaping function against injection payloads on the real server: each payload comes back
 * byte-for-byte as a value, and used in a WHERE clause it matches only a row holding exactly it.
 */
import { CLICKHOUSE_URL, requireClickHouse } from '@onceflow/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryRunner } from './clickhouse-client.js';
import { sql, sqlDatabase, wellFormed } from './sql-escape.js';
import { testDatabaseName } from '../../../test/store/test-database.js';

const ok = await requireClickHouse();

const PAYLOADS = [
  "' OR 1=1 --",
  "\\' OR 1=1 --",
  "\\\\' OR 1=1 --",
  '\\',
  '\\\\',
  "'",
  "''",
  "'; DROP TABLE items; --",
  "x' UNION ALL SELECT 'pwned",
  'a\0b',
  '\0',
  '\b\f\n\r\t\v\u0001\u001b\u007f',
  '\u0085\u2028\u2029',
  'zürich 東京 🚀 ﷽',
  'lone \ud800 high',
  'lone \udfff low',
  '\\x27 OR 1=1',
  '\\0',
  '%s %d ${x} {param:String}',
  '*/ SELECT 1 /*',
  '`backtick`',
  '"double"',
];

describe.skipIf(!ok)('sqlValue against injection payloads on the real server', () => {
  const runner = new QueryRunner({ url: CLICKHOUSE_URL });
  const db = sqlDatabase(testDatabaseName());

  beforeAll(async () => {
    await runner.command(sql`CREATE DATABASE ${db}`);
    await runner.command(sql`CREATE TABLE ${db}.items (id UInt32, value String) ENGINE = MergeTree ORDER BY id`);
    await runner.insert(
      `${db}.items`,
      ['id', 'value'],
      PAYLOADS.map((value, id) => ({ id, value })),
    );
  });

  afterAll(async () => {
    await runner.command(sql`DROP DATABASE IF EXISTS ${db}`);
    await runner.close();
  });

  it.each(PAYLOADS.map((payload, id) => [JSON.stringify(payload), payload, id] as const))(
    'round-trips %s as a literal and matches only its own row',
    async (_label, payload, id) => {
      const [echo] = await runner.rows<{ v: string; hex: string }>(sql`SELECT ${payload} AS v, hex(${payload}) AS hex`);
      const expected = wellFormed(payload);
      expect(echo.v).toBe(expected);
      expect(echo.hex).toBe(Buffer.from(expected, 'utf8').toString('hex').toUpperCase());

      const rows = await runner.rows<{ id: number }>(sql`SELECT id FROM ${db}.items WHERE value = ${payload} ORDER BY id`);
      expect(rows.map((row) => row.id)).toEqual([id]);
    },
  );

  it('keeps an array of payloads one array', async () => {
    const [row] = await runner.rows<{ n: string; v: string[] }>(sql`SELECT length(${PAYLOADS}) AS n, ${PAYLOADS} AS v`);
    expect(Number(row.n)).toBe(PAYLOADS.length); // UInt64 comes back as a string
    expect(row.v).toEqual(PAYLOADS.map(wellFormed));
  });

  it('matches nothing for a payload that only resembles stored values', async () => {
    const rows = await runner.rows<{ id: number }>(sql`SELECT id FROM ${db}.items WHERE value = ${"nothing' OR '1'='1"}`);
    expect(rows).toEqual([]);
  });
});
