import { describe, expect, it } from 'vitest';
import { SqlFragment, sql, sqlColumns, sqlIdentifier, sqlNumber, sqlString, sqlValue, wellFormed } from './sql-escape.js';

describe('sqlString', () => {
  it.each([
    ['plain', "'plain'"],
    ["it's", "'it\\'s'"],
    ['back\\slash', "'back\\\\slash'"],
    ["\\' OR 1=1 --", "'\\\\\\' OR 1=1 --'"],
    ['a\0b', "'a\\0b'"],
    ['\b\f\n\r\t', "'\\b\\f\\n\\r\\t'"],
    ['\u0001\u001f\u007f', "'\\x01\\x1f\\x7f'"],
    ['zürich 東京 🚀', "'zürich 東京 🚀'"],
  ])('quotes %j as %s', (input, expected) => {
    expect(sqlString(input)).toBe(expected);
  });

  it('leaves no unescaped quote: every quote inside is preceded by an odd run of backslashes', () => {
    for (const payload of ["'", "\\'", "\\\\'", "''", "\\\\\\'", "a'b'c", "'; DROP TABLE spans; --"]) {
      const inner = sqlString(payload).slice(1, -1);
      for (let i = 0; i < inner.length; i++) {
        if (inner[i] !== "'") continue;
        let run = 0;
        for (let j = i - 1; j >= 0 && inner[j] === '\\'; j--) run++;
        expect(run % 2, `${payload} → ${inner}`).toBe(1);
      }
    }
  });

  it('replaces lone surrogates and keeps pairs', () => {
    expect(wellFormed('a\ud800b')).toBe('a\ufffdb');
    expect(wellFormed('a\udc00')).toBe('a\ufffd');
    expect(wellFormed('\ud83d\ude80')).toBe('🚀');
    expect(sqlString('x\udfffy')).toBe("'x\ufffdy'");
  });
});

describe('sqlNumber and sqlValue', () => {
  it('writes finite numbers and bigints', () => {
    expect(sqlNumber(42)).toBe('42');
    expect(sqlNumber(-1.5)).toBe('-1.5');
    expect(sqlNumber(18446744073709551615n)).toBe('18446744073709551615');
  });

  it.each([NaN, Infinity, -Infinity])('refuses %s', (value) => {
    expect(() => sqlNumber(value)).toThrow(/finite/);
  });

  it('refuses a string posing as a number and other types', () => {
    expect(() => sqlNumber('1; DROP TABLE x' as unknown as number)).toThrow();
    expect(() => sqlValue({} as never)).toThrow();
    expect(() => sqlValue(null as never)).toThrow();
  });

  it('writes booleans and arrays', () => {
    expect(sqlValue(true)).toBe('1');
    expect(sqlValue(['a', "b'"])).toBe("['a', 'b\\'']");
  });
});

describe('identifiers', () => {
  it('passes only allow-listed plain names', () => {
    expect(sqlIdentifier('spans', ['spans']).text).toBe('`spans`');
    expect(() => sqlIdentifier('flows', ['spans'])).toThrow(/not allowed/);
    expect(() => sqlIdentifier('a`b', ['a`b'])).toThrow(/not allowed/);
    expect(() => sqlIdentifier('x; DROP', ['x; DROP'])).toThrow(/not allowed/);
  });

  it('validates column lists', () => {
    expect(sqlColumns(['a', 'attrs.key']).text).toBe('`a`, `attrs.key`');
    expect(() => sqlColumns(['a) FROM x --'])).toThrow();
  });
});

describe('sql template', () => {
  it('escapes every interpolation and inserts fragments as they are', () => {
    const table = sqlIdentifier('spans', ['spans']);
    const query = sql`SELECT * FROM ${table} WHERE id = ${"x' OR 1=1 --"} LIMIT ${10}`;
    expect(query).toBeInstanceOf(SqlFragment);
    expect(query.text).toBe("SELECT * FROM `spans` WHERE id = 'x\\' OR 1=1 --' LIMIT 10");
  });
});
