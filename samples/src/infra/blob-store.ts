/**
 * The claim-check blob store: a directory of files. Each attempt writes its own key, so what
 * an aborted attempt stored is its own to delete, and a blob no committed state refers to is
 * garbage a collector removes after a retention (`blob-collector.ts`). A blob keeps the
 * identity it was written under (its conversation, as object metadata would in S3, in a
 * `<key>.meta` file beside it), so that the collector, which runs outside any conversation,
 * can delete it in the flow that wrote it, as the outbox sweeper sends a row under the
 * identity stored with it.
 */
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The identity stored with a blob. */
export interface BlobMeta {
  /** The conversation whose processing wrote it (none when written outside any). */
  conversationId?: string;
}

export interface StoredBlob extends BlobMeta {
  key: string;
  /** When it was written, epoch ms. */
  modifiedMs: number;
}

export interface BlobStore {
  /** Stores `data` under `key`, with `meta`, and returns its reference. */
  put(key: string, data: Buffer, meta?: BlobMeta): Promise<string>;
  /** The blob a reference names; throws `BlobMissingError` when it is not there (a 404). */
  get(ref: string): Promise<Buffer>;
  /**
   * Removes the blob a reference names (nothing when it is already gone). `meta`: the identity
   * stored with it, for a delete made outside its conversation (a tracing store names it).
   */
  delete(ref: string, meta?: BlobMeta): Promise<void>;
  /** Every stored blob, with its stored identity (the listing ground truth and the collector read). */
  list(): Promise<StoredBlob[]>;
}

/** A reference to a blob that is not (or no longer) in the store. */
export class BlobMissingError extends Error {
  constructor(readonly ref: string) {
    super(`blob ${ref} is missing (404)`);
  }
}

const PREFIX = 'blob://invoices/';
/** Suffix of the file holding a blob's stored identity. */
const META = '.meta';

const ignoreMissing = (error: NodeJS.ErrnoException) => {
  if (error.code !== 'ENOENT') throw error;
};

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
    async put(key, data, meta) {
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      const path = pathOf(key);
      // The identity first: a listed blob always has the one it was written with.
      if (meta?.conversationId) await writeFile(`${path}${META}`, JSON.stringify(meta));
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
      const path = pathOf(keyOf(ref));
      for (const file of [path, `${path}${META}`]) await unlink(file).catch(ignoreMissing);
    },
    async list() {
      const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [] as string[];
        throw error;
      });
      const blobs: StoredBlob[] = [];
      // Keys have no dot (`pathOf`): `.tmp` and `.meta` files are no blobs.
      for (const key of names.filter((name) => !name.includes('.')).sort()) {
        const info = await stat(join(dir, key)).catch(() => undefined);
        if (!info) continue;
        const meta = await readFile(join(dir, `${key}${META}`), 'utf8').then(
          (text) => JSON.parse(text) as BlobMeta,
          () => ({}),
        );
        blobs.push({ key, modifiedMs: info.mtimeMs, ...meta });
      }
      return blobs;
    },
  };
}
