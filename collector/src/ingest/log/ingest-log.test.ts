/**
 * The ingest log on a real file system (a temporary directory): group commit, restart and
 * replay from the confirmed offset, a torn or corrupt tail cut at the last valid record,
 * segment rolling and deletion, the spool limit and the directory lock.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openIngestLog, SpoolFullError, type IngestLog, type IngestLogOptions } from './ingest-log.js';
import { RECORD_HEADER_BYTES } from './record-format.js';
import { LogLockedError } from './segment-files.js';

const dirs: string[] = [];
const logs: IngestLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'onceflow-log-'));
  dirs.push(dir);
  return dir;
}

interface Warning {
  fields: Record<string, unknown>;
  message: string;
}

async function open(dir: string, options: Partial<IngestLogOptions> = {}, warnings: Warning[] = []): Promise<IngestLog> {
  const sink = {
    info: () => undefined,
    error: () => undefined,
    warn: (fields: Record<string, unknown>, message: string) => void warnings.push({ fields, message }),
  } as unknown as IngestLogOptions['logger'];
  const log = await openIngestLog({ dir, spoolMaxBytes: 1 << 20, maxPayloadBytes: 1 << 16, logger: sink, ...options });
  logs.push(log);
  return log;
}

const record = (text: string, spanCount = 1) => ({
  payload: Buffer.from(text),
  receivedAtMs: 1_700_000_000_000,
  spanCount,
  encoding: 'json' as const,
});

async function closeLog(log: IngestLog): Promise<void> {
  logs.splice(logs.indexOf(log), 1);
  await log.close();
}

const segmentFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.seg'))
    .sort();

describe('IngestLog', () => {
  it('appends concurrent requests contiguously and reads them back', async () => {
    const log = await open(tempDir());
    const appended = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(record(`request-${i}`, i))));
    for (let i = 1; i < appended.length; i++) expect(appended[i].start).toBe(appended[i - 1].end);
    expect(log.durableEnd).toBe(appended.at(-1)!.end);
    const read = await log.read(0, log.durableEnd, Infinity);
    expect(read.map((r) => r.payload.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `request-${i}`));
    expect(read.map((r) => r.spanCount)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(log.lag(1_700_000_005_000)).toEqual({ bytes: log.durableEnd, spans: (49 * 50) / 2, oldestAgeMs: 5000 });
  });

  it('replays from the confirmed offset after a restart', async () => {
    const dir = tempDir();
    const first = await open(dir);
    const [a, b] = [await first.append(record('a', 2)), await first.append(record('b', 3))];
    await first.append(record('c', 4));
    first.confirm(b.end, 5);
    expect(first.lag(1_700_000_000_000)).toMatchObject({ spans: 4 });
    await closeLog(first);

    const second = await open(dir);
    expect(second.confirmedOffset).toBe(b.end);
    const replay = await second.read(second.confirmedOffset, second.durableEnd, Infinity);
    expect(replay.map((r) => r.payload.toString())).toEqual(['c']);
    expect(second.lag(1_700_000_000_000).spans).toBe(4);
    expect(a.start).toBe(0);
  });

  // A record is torn when the process died while writing it (never acknowledged), corrupt when
  // its bytes changed; either way the log ends at the last valid record, with one warning.
  it.each([
    { name: 'a torn header', kept: 2, damage: (file: string, size: number) => truncateSync(file, size - 10 - RECORD_HEADER_BYTES + 5) },
    { name: 'a torn payload', kept: 2, damage: (file: string, size: number) => truncateSync(file, size - 4) },
    { name: 'zeros past the end', kept: 3, damage: (file: string) => appendFileSync(file, Buffer.alloc(100)) },
    { name: 'a partial header past the end', kept: 3, damage: (file: string) => appendFileSync(file, Buffer.from([7, 0, 0])) },
    { name: 'a flipped payload byte', kept: 2, damage: (file: string, size: number) => flipByte(file, size - 3) },
    { name: 'a flipped length byte', kept: 2, damage: (file: string, size: number) => flipByte(file, size - 10 - RECORD_HEADER_BYTES + 1) },
  ])('cuts $name at the last valid record', async ({ damage, kept }) => {
    const dir = tempDir();
    const log = await open(dir);
    const appended = [await log.append(record('first')), await log.append(record('second')), await log.append(record('0123456789'))];
    await closeLog(log);
    const validEnd = appended[kept - 1].end;
    const [segment] = segmentFiles(dir);
    const file = join(dir, segment);
    damage(file, statSync(file).size);

    const warnings: Warning[] = [];
    const reopened = await open(dir, {}, warnings);
    expect(reopened.durableEnd).toBe(validEnd);
    expect(statSync(file).size).toBe(validEnd);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toMatch(/^ingest log: cut \d+ bytes of (torn|corrupt) tail at offset \d+/);
    expect((await reopened.read(0, reopened.durableEnd, Infinity)).map((r) => r.payload.toString())).toEqual(
      ['first', 'second', '0123456789'].slice(0, kept),
    );
    // Appending continues right after the cut.
    const next = await reopened.append(record('after'));
    expect(next.start).toBe(validEnd);
  });

  it('says nothing when the log is intact', async () => {
    const dir = tempDir();
    await closeLog(await open(dir).then(async (log) => (await log.append(record('x')), log)));
    const warnings: Warning[] = [];
    await open(dir, {}, warnings);
    expect(warnings).toEqual([]);
  });

  it('rolls segments and deletes the ones the store confirmed', async () => {
    const dir = tempDir();
    const log = await open(dir, { segmentBytes: 200 });
    const appended = [];
    for (let i = 0; i < 10; i++) appended.push(await log.append(record('x'.repeat(60))));
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    const all = await log.read(0, log.durableEnd, Infinity);
    expect(all).toHaveLength(10);
    log.confirm(appended[7].end, 8);
    await closeLog(log);
    const remaining = segmentFiles(dir).map((name) => Number(name.slice(0, 20)));
    // Only segments holding records after the confirmed offset (and the active one) are left.
    expect(remaining.every((base) => base + 200 > appended[7].end || base === remaining.at(-1))).toBe(true);
    expect(remaining.length).toBeLessThan(4);
    const reopened = await open(dir, { segmentBytes: 200 });
    expect((await reopened.read(reopened.confirmedOffset, reopened.durableEnd, Infinity)).length).toBe(2);
  });

  it('refuses appends beyond the spool limit until the store confirms', async () => {
    const log = await open(tempDir(), { spoolMaxBytes: 3 * (RECORD_HEADER_BYTES + 100) });
    const payload = 'y'.repeat(100);
    const appended = [await log.append(record(payload)), await log.append(record(payload)), await log.append(record(payload))];
    expect(log.isFull()).toBe(true);
    await expect(log.append(record(payload))).rejects.toBeInstanceOf(SpoolFullError);
    log.confirm(appended[0].end, 1);
    expect(log.isFull()).toBe(false);
    await expect(log.append(record(payload))).resolves.toMatchObject({ start: appended[2].end });
  });

  it("refuses a directory another live process holds, and takes over a dead one's lock", async () => {
    const dir = tempDir();
    const holder = spawn('sleep', ['5']);
    try {
      writeFileSync(join(dir, 'LOCK'), String(holder.pid));
      await expect(open(dir)).rejects.toThrow(LogLockedError);
      await expect(open(dir)).rejects.toThrow(`in use by process ${holder.pid}`);
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((resolve) => holder.once('exit', resolve));
    await expect(open(dir)).resolves.toBeDefined();
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(String(process.pid));
  });
});

function flipByte(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at] ^= 0xff;
  writeFileSync(file, bytes);
}
