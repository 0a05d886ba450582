/**
 * The one SQL surface every service uses: PGlite (embedded default) or PostgreSQL (`pg`).
 * Handlers see only `Sql` and `Database.transaction`, so the same statements run on both.
 */
import { createRequire } from 'node:module';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import type { Pool, PoolClient } from 'pg';

export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

export interface Database extends Sql {
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly kind: 'pglite' | 'postgres';
}

export interface DatabaseOptions {
  /** `postgres://…` to use PostgreSQL; otherwise PGlite. */
  url?: string;
  /** PGlite data directory; in memory when absent. */
  dataDir?: string;
  /** PostgreSQL schema to work in (created when missing); isolates tests and demos. */
  schema?: string;
}

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  return options.url ? openPostgres(options.url, options.schema) : openPglite(options.dataDir);
}

async function openPglite(dataDir?: string): Promise<Database> {
  const db = dataDir ? await createPglite({ dataDir }) : await createEmptyPglite();
  const sql: Sql = { query: (text, params) => db.query(text, params) as never };
  return {
    kind: 'pglite',
    query: sql.query,
    transaction: (fn) => db.transaction((tx) => fn({ query: (text, params) => tx.query(text, params) as never })),
    close: () => db.close(),
  };
}

async function openPostgres(url: string, schema?: string): Promise<Database> {
  const pg = (await import('pg')).default;
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await admin.end();
  }
  const pool: Pool = new pg.Pool({
    connectionString: url,
    max: 8,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  const onClient = (client: PoolClient): Sql => ({ query: (text, params) => client.query(text, params) as never });
  return {
    kind: 'postgres',
    query: (text, params) => pool.query(text, params) as never,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(onClient(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid SQL identifier: ${name}`);
  return `"${name}"`;
}

/** Drops a schema created for a test run. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  } finally {
    await admin.end();
  }
}

/** PGlite's version (its package.json is not exported, so it is found beside its entry point). */
function pgliteVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (name === '@electric-sql/pglite' && version) return version;
    }
  }
  return 'unknown';
}

async function createPglite(options: PGliteOptions): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  return PGlite.create(options);
}

/**
 * An empty in-memory PGlite. Creating one runs `initdb`, which takes seconds; the result of a
 * first run is kept as a data-directory snapshot in the temp directory (per PGlite version),
 * and later starts load it instead — an empty cluster either way, several times faster.
 */
async function createEmptyPglite(): Promise<PGlite> {
  const version = pgliteVersion();
  const snapshot = join(tmpdir(), `onceflow-pglite-${version}-empty.tar.gz`);
  const cached = await readFile(snapshot).catch(() => undefined);
  if (cached) {
    try {
      return await createPglite({ loadDataDir: new Blob([cached]) });
    } catch {
      // A damaged snapshot: fall through to a fresh cluster, which replaces it.
    }
  }
  const db = await createPglite({});
  try {
    const dump = await db.dumpDataDir('gzip');
    const partial = `${snapshot}.${process.pid}.tmp`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, snapshot);
  } catch {
    // Only a start-up cache: without it the next start is just slower.
  }
  return db;
}
