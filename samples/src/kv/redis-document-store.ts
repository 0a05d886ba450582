/**
 * The real-mode key-value store: Redis, one hash per document (`version`, `value`), replaced
 * by a Lua compare-and-set on the version, which Redis runs atomically on that one key.
 */
import { createClient } from 'redis';
import type { DocumentStore, StoredDocument } from './document-store.js';

const COMPARE_AND_SET = `
local current = redis.call('HGET', KEYS[1], 'version')
if (current == false and ARGV[1] == '0') or current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'version', tonumber(ARGV[1]) + 1, 'value', ARGV[2])
  return 1
end
return 0`;

export async function createRedisDocumentStore(url: string): Promise<DocumentStore> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  return {
    async get(key): Promise<StoredDocument | undefined> {
      const [version, value] = await client.hmGet(key, ['version', 'value']);
      return version === null || value === null ? undefined : { version: Number(version), value };
    },
    async compareAndSet(key, expectedVersion, value) {
      const written = await client.eval(COMPARE_AND_SET, { keys: [key], arguments: [String(expectedVersion), value] });
      return written === 1;
    },
    async delete(key) {
      await client.del(key);
    },
    async keys(prefix) {
      const found: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, COUNT: 500 })) {
        found.push(...batch);
      }
      return found.sort();
    },
    close: async () => {
      client.destroy();
    },
  };
}
