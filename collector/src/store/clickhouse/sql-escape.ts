/**
 * The one way a value reaches ClickHouse SQL text.
 *
 * ClickHouse 18.16 has no query parameters, so the store builds SQL as text. Every value goes
 * through {@link sqlValue} (usually via the {@link sql} tagged template, which applies it to
 * every interpolation); identifiers come only from {@link sqlIdentifier}'s allow-list. Doubling
 * quotes alone is injectable on ClickHouse (`\' OR 1=1 --`), because a backslash escapes the
 * quote: here backslash and quote are both backslash-escaped, every control character becomes
 * an escape sequence, and lone UTF-16 surrogates (which would make the request body invalid
 * UTF-8) are replaced by U+FFFD.
 */

/** SQL text that is trusted: built by {@link sql} or {@link sqlIdentifier}, never by hand. */
export class SqlFragment {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type SqlScalar = string | number | bigint | boolean;
export type SqlInput = SqlScalar | readonly SqlScalar[] | SqlFragment;

const NAMED_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

// Backslash, quote, the C0 control characters and DEL.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\\'\u0000-\u001f\u007f]/g;

function escapeChar(ch: string): string {
  return NAMED_ESCAPES[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATE_G = new RegExp(LONE_SURROGATE.source, 'g');

/** Replaces lone UTF-16 surrogates by U+FFFD (they cannot be encoded as UTF-8). */
export function wellFormed(value: string): string {
  return LONE_SURROGATE.test(value) ? value.replace(LONE_SURROGATE_G, '\ufffd') : value;
}

/** A single-quoted ClickHouse string literal that means exactly `value`. */
export function sqlString(value: string): string {
  return `'${wellFormed(value).replace(NEEDS_ESCAPE, escapeChar)}'`;
}

/** A numeric literal; throws on NaN, ±Infinity and anything that is not a number. */
export function sqlNumber(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`not a finite number: ${String(value)}`);
  }
  // toString never yields exponent notation ClickHouse cannot read (it accepts 1e+21, 1e-7).
  return value.toString();
}

/**
 * The one escaping function: any value as a SQL literal. Strings are quoted and escaped,
 * numbers validated, booleans become 1/0, arrays become `[a, b]`; anything else is refused.
 */
export function sqlValue(value: SqlInput): string {
  if (value instanceof SqlFragment) return value.text;
  switch (typeof value) {
    case 'string':
      return sqlString(value);
    case 'number':
    case 'bigint':
      return sqlNumber(value);
    case 'boolean':
      return value ? '1' : '0';
    default:
      if (Array.isArray(value)) return `[${value.map((item: SqlScalar) => sqlValue(item)).join(', ')}]`;
      throw new TypeError(`cannot be used as a SQL value: ${typeof value}`);
  }
}

/**
 * The right-hand side of `IN`: `(a, b)` for scalars, `((a, b), (c, d))` for tuples. 18.16 takes
 * no array literal after IN, and a one-element tuple list would read as a single tuple, so a
 * single element is repeated.
 */
export function sqlInList(values: readonly (SqlScalar | readonly SqlScalar[])[]): SqlFragment {
  if (values.length === 0) throw new TypeError('IN list must not be empty');
  const items = values.map((value) =>
    Array.isArray(value) ? `(${value.map((item: SqlScalar) => sqlValue(item)).join(', ')})` : sqlValue(value as SqlScalar),
  );
  if (items.length === 1) items.push(items[0]);
  return new SqlFragment(`(${items.join(', ')})`);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * An identifier (database, table or column name). Only names on the allow-list pass, and even
 * those must be plain `[A-Za-z_][A-Za-z0-9_]*` names; the result is back-quoted.
 */
export function sqlIdentifier(name: string, allowed: ReadonlySet<string> | readonly string[]): SqlFragment {
  const ok = Array.isArray(allowed) ? allowed.includes(name) : (allowed as ReadonlySet<string>).has(name);
  if (!ok || !IDENTIFIER.test(name)) throw new TypeError(`identifier not allowed: ${JSON.stringify(name)}`);
  return new SqlFragment(`\`${name}\``);
}

const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** A column list from the schema's constants (`a`, `nested.sub`), back-quoted and validated. */
export function sqlColumns(columns: readonly string[]): SqlFragment {
  for (const column of columns) {
    if (!COLUMN.test(column)) throw new TypeError(`column name not allowed: ${JSON.stringify(column)}`);
  }
  return new SqlFragment(columns.map((column) => `\`${column}\``).join(', '));
}

/** A database name chosen by configuration: a plain identifier, nothing else. */
export function sqlDatabase(name: string): SqlFragment {
  return sqlIdentifier(name, [name]);
}

/**
 * Tagged template: every interpolation goes through {@link sqlValue}; nested `sql` fragments
 * and identifiers are inserted as they are.
 *
 *   sql`SELECT * FROM ${table} WHERE trace_id = ${traceId} LIMIT ${limit}`
 */
export function sql(strings: TemplateStringsArray, ...values: SqlInput[]): SqlFragment {
  let text = strings[0];
  for (let i = 0; i < values.length; i++) text += sqlValue(values[i]) + strings[i + 1];
  return new SqlFragment(text);
}

/** Joins fragments with a separator (for optional WHERE conditions). */
export function joinSql(parts: readonly SqlFragment[], separator: string): SqlFragment {
  return new SqlFragment(parts.map((part) => part.text).join(separator));
}
