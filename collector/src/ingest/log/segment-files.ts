/**
 * Where the ingest log keeps its files: segment files named by the log offset of their first
 * byte, the checkpoint of the offset the store confirmed, and a lock file that keeps a second
 * collector off the same directory.
 */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';

const SEGMENT_NAME = /^(\d{20})\.seg$/;
const CHECKPOINT_FILE = 'confirmed';
const LOCK_FILE = 'LOCK';

export interface SegmentFile {
  /** Log offset of the segment's first byte (its header). */
  base: number;
  path: string;
}

export function segmentPath(dir: string, base: number): string {
  return join(dir, `${String(base).padStart(20, '0')}.seg`);
}

/** The directory's segments, oldest first. */
export function listSegments(dir: string): SegmentFile[] {
  return readdirSync(dir)
    .map((name) => SEGMENT_NAME.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ base: Number(match[1]), path: join(dir, match[0]) }))
    .sort((a, b) => a.base - b.base);
}

/** Makes a created, renamed or deleted file's directory entry durable. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The checkpoint: 8 bytes of offset and a CRC32C of them. A missing or damaged checkpoint reads
 * as null (the log then replays from its oldest segment, which the idempotent stores absorb).
 */
export function readCheckpoint(dir: string): number | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, CHECKPOINT_FILE));
  } catch {
    return null;
  }
  if (bytes.length < 12 || bytes.readUInt32LE(8) !== crc32c(bytes.subarray(0, 8))) return null;
  return Number(bytes.readBigUInt64LE(0));
}

/**
 * Opens the checkpoint file for `writeCheckpoint`, creating it if needed. The checkpoint is
 * overwritten in place rather than renamed into place: a rename needs a new file, and on a
 * full disk that would fail — and with it the deletion of confirmed segments that frees space.
 * A torn 12-byte write fails its CRC and reads as no checkpoint (a longer replay, no loss).
 */
export async function openCheckpoint(dir: string): Promise<FileHandle> {
  const path = join(dir, CHECKPOINT_FILE);
  try {
    return await open(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const handle = await open(path, 'w+');
    syncDirectory(dir);
    return handle;
  }
}

export async function writeCheckpoint(handle: FileHandle, offset: number): Promise<void> {
  const bytes = Buffer.alloc(12);
  bytes.writeBigUInt64LE(BigInt(offset), 0);
  bytes.writeUInt32LE(crc32c(bytes.subarray(0, 8)), 8);
  await handle.write(bytes, 0, bytes.length, 0);
  await handle.datasync();
}

export class LogLockedError extends Error {
  override readonly name = 'LogLockedError';
}

/**
 * Takes the directory's lock: a file holding this process's id. A lock left by a process that
 * is gone (killed) is taken over; one held by a live process refuses with who holds it.
 */
export function lockDirectory(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
      throw new LogLockedError(
        `the ingest log in ${dir} is in use by process ${holder}: another collector runs on this data directory; stop it or give this one its own --data`,
      );
    }
    writeFileSync(path, String(process.pid));
  }
  return () => {
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // Already gone: nothing to release.
    }
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
