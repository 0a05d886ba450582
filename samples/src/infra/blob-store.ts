/**
 * The claim-check blob store: a directory of files keyed by message id. A retried attempt
 * writes the same key again, so an aborted attempt leaves at most one blob behind.
 */
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export interface BlobStore {
  /** Stores `data` under `key` and returns its reference. */
  put(key: string, data: Buffer): Promise<string>;
  get(ref: string): Promise<Buffer>;
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
  };
}
