/**
 * The claim-check blob store: a directory of files keyed by message id. A retried attempt
 * writes the same key again, so an aborted attempt leaves at most one blob behind.
 */
import { mkdir, readdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export interface BlobStore {
  /** Stores `data` under `key` and returns its reference. */
  put(key: string, data: Buffer): Promise<string>;
  get(ref: string): Promise<Buffer>;
  /** Keys of every stored blob (the listing ground truth is read from). */
  list(): Promise<string[]>;
}

const PREFIX = 'blob://invoices/';

export function createFileBlobStore(dir: string): BlobStore {
  let ready: Promise<unknown> | undefined;
  const pathOf = (key: string) => {
    if (!/^[A-Za-z0-9-]+$/.test(key)) throw new Error(`invalid blob key ${key}`);
    return join(dir, key);
  };
  return {
    async put(key, data) {
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      const path = pathOf(key);
      await writeFile(`${path}.tmp`, data);
      await rename(`${path}.tmp`, path);
      return `${PREFIX}${key}`;
    },
    async get(ref) {
      if (!ref.startsWith(PREFIX)) throw new Error(`not a blob reference: ${ref}`);
      return readFile(pathOf(ref.slice(PREFIX.length)));
    },
    async list() {
      const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [] as string[];
        throw error;
      });
      return names.filter((name) => !name.endsWith('.tmp')).sort();
    },
  };
}
