/**
 * The claim-check blob store: a directory of files. Each attempt writes its own key, so what
 * an aborted attempt stored is its own to delete, and a blob no committed state refers to is
 * garbage a collector removes after a retention (`blob-collector.ts`).
 */
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface StoredBlob {
  key: string;
  /** When it was written, epoch ms. */
  modifiedMs: number;
}

export interface BlobStore {
  /** Stores `data` under `key` and returns its reference. */
  put(key: string, data: Buffer): Promise<string>;
  /** The blob a reference names; throws `BlobMissingError` when it is not there (a 404). */
  get(ref: string): Promise<Buffer>;
  /** Removes the blob a reference names (nothing when it is already gone). */
  delete(ref: string): Promise<void>;
  /** Every stored blob (the listing ground truth and the collector read). */
  list(): Promise<StoredBlob[]>;
}

/** A reference to a blob that is not (or no longer) in the store. */
export class BlobMissingError extends Error {
  constructor(readonly ref: string) {
    super(`blob ${ref} is missing (404)`);
  }
}

const PREFIX = 'blob://invoices/';

export const refOf = (key: string) => `${PREFIX}${key}`;

export function keyOf(ref: string): string {
  if (!ref.startsWith(PREFIX)) throw new Error(`not a blob reference: ${ref}`);
  return ref.slice(PREFIX.length);
}

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
      return refOf(key);
    },
    async get(ref) {
      return readFile(pathOf(keyOf(ref))).catch((error: NodeJS.ErrnoException) => {
        throw error.code === 'ENOENT' ? new BlobMissingError(ref) : error;
      });
    },
    async delete(ref) {
      await unlink(pathOf(keyOf(ref))).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    },
    async list() {
      const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [] as string[];
        throw error;
      });
      const blobs: StoredBlob[] = [];
      for (const key of names.filter((name) => !name.endsWith('.tmp')).sort()) {
        const info = await stat(join(dir, key)).catch(() => undefined);
        if (info) blobs.push({ key, modifiedMs: info.mtimeMs });
      }
      return blobs;
    },
  };
}
