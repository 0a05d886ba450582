/**
 * The embedded key-value store: one table, used only through single-row statements (a read
 * by primary key, an insert that does nothing on conflict, an update guarded by the version),
 * so it offers no more than a cloud key-value store does: no transaction spans two keys.
 */
import type { Sql } from '../infra/database.js';
import type { DocumentStore, StoredDocument } from './document-store.js';

export async function createTableDocumentStore(sql: Sql): Promise<DocumentStore> {
  await sql.query('CREATE TABLE IF NOT EXISTS kv_documents (key text PRIMARY KEY, version bigint NOT NULL, value text NOT NULL)');
  return {
    async get(key): Promise<StoredDocument | undefined> {
      const { rows } = await sql.query<{ version: string; value: string }>('SELECT version, value FROM kv_documents WHERE key = $1', [key]);
      return rows[0] ? { version: Number(rows[0].version), value: rows[0].value } : undefined;
    },
    async compareAndSet(key, expectedVersion, value) {
      const { rows } =
        expectedVersion === 0
          ? await sql.query('INSERT INTO kv_documents (key, version, value) VALUES ($1, 1, $2) ON CONFLICT DO NOTHING RETURNING key', [
              key,
              value,
            ])
          : await sql.query('UPDATE kv_documents SET version = version + 1, value = $3 WHERE key = $1 AND version = $2 RETURNING key', [
              key,
              expectedVersion,
              value,
            ]);
      return rows.length === 1;
    },
    async delete(key) {
      await sql.query('DELETE FROM kv_documents WHERE key = $1', [key]);
    },
    async keys(prefix) {
      const { rows } = await sql.query<{ key: string }>('SELECT key FROM kv_documents WHERE starts_with(key, $1) ORDER BY key', [prefix]);
      return rows.map((r) => r.key);
    },
    close: async () => undefined,
  };
}
