/**
 * Thin wrapper around `@clickhouse/client` for the store: bounded reads (wait_end_of_query,
 * max_execution_time), errors with the server's code read from the message text (18.16 error
 * bodies carry no parsed code), and JSONEachRow inserts through the surrogate-safe encoder.
 */
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { stringifyInsertRow } from './span-rows.js';
import type { SqlFragment } from './sql-escape.js';

export class ClickHouseError extends Error {
  /** The server's error code (e.g. 60 for an unknown table), or null when none was found. */
  readonly code: number | null;
  constructor(message: string, code: number | null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClickHouseError';
    this.code = code;
  }
}

/** `Code: 60, e.displayText() = DB::Exception: ...` → 60. */
export function errorCodeOf(message: string): number | null {
  const match = /Code:\s*(\d+)/.exec(message);
  return match ? Number(match[1]) : null;
}

function wrap(error: unknown, what: string): ClickHouseError {
  const message = error instanceof Error ? error.message : String(error);
  const code =
    error && typeof error === 'object' && 'code' in error && /^\d+$/.test(String(error.code)) ? Number(error.code) : errorCodeOf(message);
  return new ClickHouseError(`ClickHouse ${what} failed: ${message}`, code, { cause: error });
}

export interface QueryRunnerOptions {
  url: string;
  /** Seconds a read may run on the server before it is cancelled there. */
  maxExecutionTimeS?: number;
  /** Settings sent with every query, command and insert (a cluster's, see `clickhouse-store.ts`). */
  settings?: ClickHouseSettings;
}

export class QueryRunner {
  readonly client: ClickHouseClient;
  private readonly maxExecutionTimeS: number;
  private readonly settings: ClickHouseSettings;

  constructor(options: QueryRunnerOptions) {
    this.maxExecutionTimeS = options.maxExecutionTimeS ?? 30;
    this.settings = options.settings ?? {};
    this.client = createClient({
      url: options.url,
      // The server stops a read after max_execution_time; the socket waits a little longer.
      request_timeout: (this.maxExecutionTimeS + 15) * 1000,
      json: { parse: JSON.parse, stringify: stringifyInsertRow },
    });
  }

  /** A bounded read; rows as the server's JSONEachRow objects. */
  async rows<T>(query: SqlFragment | string, settings: ClickHouseSettings = {}): Promise<T[]> {
    try {
      const result = await this.client.query({
        query: String(query),
        format: 'JSONEachRow',
        clickhouse_settings: { wait_end_of_query: 1, max_execution_time: this.maxExecutionTimeS, ...this.settings, ...settings },
      });
      return await result.json<T>();
    } catch (error) {
      throw wrap(error, 'query');
    }
  }

  /** DDL or a mutation. */
  async command(query: SqlFragment | string, settings: ClickHouseSettings = {}): Promise<void> {
    try {
      await this.client.command({ query: String(query), clickhouse_settings: { ...this.settings, ...settings } });
    } catch (error) {
      throw wrap(error, 'command');
    }
  }

  async insert(table: string, columns: readonly string[], values: readonly unknown[]): Promise<void> {
    if (values.length === 0) return;
    try {
      await this.client.insert({
        table,
        values: values as unknown[],
        format: 'JSONEachRow',
        columns: columns as [string, ...string[]],
        clickhouse_settings: this.settings,
      });
    } catch (error) {
      throw wrap(error, `insert into ${table}`);
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Polls `done` every 100 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(done: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`ClickHouse: ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
