/**
 * The durable ingest log: every accepted OTLP request's body is appended here and fsynced
 * before the receiver answers 200; the store is fed from it afterwards (`log-feeder.ts`).
 *
 * Offsets are byte positions in one logical stream cut into segment files (named by the
 * offset of their first byte, where the previous segment ended), so a record covers
 * [start, end) with `start` the previous record's end, and the offsets the store confirms are
 * record ends.
 *
 * Group commit: appends that arrive while a write + fdatasync is in flight are written
 * together by the next one, so concurrent requests share an fsync. The log is bounded by
 * `spoolMaxBytes` of unconfirmed bytes; an append beyond it fails at once with
 * `SpoolFullError` (the receiver answers 503 with Retry-After).
 */
import { mkdirSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';
import {
  checksumMatches,
  encodeRecordHeader,
  parseRecordHeader,
  RECORD_HEADER_BYTES,
  type LogRecord,
  type RecordMeta,
} from './record-format.js';
import { AGE_MARK_SPACING_MS, scanLog, type AgeMark } from './segment-scan.js';
import { lockDirectory, openCheckpoint, readCheckpoint, segmentPath, syncDirectory, writeCheckpoint } from './segment-files.js';

export interface IngestLogOptions {
  dir: string;
  /** Unconfirmed bytes (appended, not yet confirmed by the store) beyond which appends are refused. */
  spoolMaxBytes: number;
  /** A segment is closed and a new one started once it holds this many bytes. */
  segmentBytes?: number;
  /** Largest payload a record may have (the receiver's body limit); larger ones read as corrupt. */
  maxPayloadBytes: number;
  logger?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/** The log holds `spoolMaxBytes` of records the store has not confirmed yet. */
export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
}

/** Writing to the log failed (disk full, I/O error); nothing of the failed group was kept. */
export class LogWriteError extends Error {
  override readonly name = 'LogWriteError';
}

export interface AppendedRecord {
  start: number;
  end: number;
}

/** A record read back from the log. */
export interface StoredRecord extends AppendedRecord, RecordMeta {
  payload: Buffer;
  /** The record failed its checksum when read back: its spans are lost and it is skipped. */
  damaged: boolean;
}

export interface LogLag {
  /** Bytes appended and not yet confirmed by the store. */
  bytes: number;
  spans: number;
  /** How long ago the oldest unconfirmed span was received (ms; 0 when nothing waits). */
  oldestAgeMs: number;
}

interface PendingAppend {
  header: Buffer;
  payload: Buffer;
  meta: RecordMeta;
  resolve: (appended: AppendedRecord) => void;
  reject: (error: unknown) => void;
}

interface Segment {
  base: number;
  size: number;
}

export async function openIngestLog(options: IngestLogOptions): Promise<IngestLog> {
  mkdirSync(options.dir, { recursive: true });
  const unlock = lockDirectory(options.dir);
  try {
    const scan = scanLog(options.dir, readCheckpoint(options.dir), options.maxPayloadBytes);
    if (scan.cut) {
      options.logger?.warn(
        { dir: options.dir, cutBytes: scan.cut.bytes, at: scan.cut.at, defect: scan.cut.defect },
        `ingest log: cut ${scan.cut.bytes} bytes of ${scan.cut.defect === 'torn' ? 'torn' : 'corrupt'} tail at offset ${scan.cut.at} (never acknowledged: a record is acknowledged only once fsynced whole)`,
      );
    }
    const log = new IngestLog(options, unlock, scan, await openCheckpoint(options.dir));
    await log.openActiveSegment();
    return log;
  } catch (error) {
    unlock();
    throw error;
  }
}

export class IngestLog {
  private readonly segmentBytes: number;
  private readonly segments: Segment[];
  private active: FileHandle | null = null;
  private pending: PendingAppend[] = [];
  private pendingBytes = 0;
  private writingBytes = 0;
  private flushing: Promise<void> | null = null;
  /** Set when a failed write could not be undone: the active segment must be cut back here first. */
  private damagedAt: number | null = null;
  private end: number;
  private confirmed: number;
  private appendedSpans: number;
  private confirmedSpans = 0;
  private ageMarks: AgeMark[];
  private checkpointed: number;
  private checkpointing: Promise<void> | null = null;
  private readers = new Map<number, FileHandle>();
  private closed = false;

  constructor(
    private readonly options: IngestLogOptions,
    private readonly unlock: () => void,
    scan: ReturnType<typeof scanLog>,
    private readonly checkpoint: FileHandle,
  ) {
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.segments = scan.segments.map(({ base, size }) => ({ base, size }));
    this.end = scan.end;
    this.confirmed = scan.confirmed;
    this.checkpointed = scan.confirmed;
    this.appendedSpans = scan.unconfirmedSpans;
    this.ageMarks = scan.ageMarks;
  }

  /** Offset up to which records are durable (readable, acknowledged). */
  get durableEnd(): number {
    return this.end;
  }

  /** Offset up to which the store has confirmed every record. */
  get confirmedOffset(): number {
    return this.confirmed;
  }

  /** True when `bytes` more (or, without `bytes`, anything more) would exceed the spool limit. */
  isFull(bytes = 1): boolean {
    return this.end + this.writingBytes + this.pendingBytes - this.confirmed + bytes > this.options.spoolMaxBytes;
  }

  /** Appends one record; resolves once it is fsynced (with every record of its group). */
  append(record: LogRecord): Promise<AppendedRecord> {
    if (this.closed) return Promise.reject(new LogWriteError('the ingest log is closed'));
    const bytes = RECORD_HEADER_BYTES + record.payload.length;
    if (this.isFull(bytes)) {
      return Promise.reject(
        new SpoolFullError(
          `the ingest log is full (--spool-max ${this.options.spoolMaxBytes} bytes) while the store catches up: ${this.end - this.confirmed} bytes wait for it`,
        ),
      );
    }
    const { payload, ...meta } = record;
    const header = encodeRecordHeader(meta, payload);
    const done = new Promise<AppendedRecord>((resolve, reject) => this.pending.push({ header, payload, meta, resolve, reject }));
    this.pendingBytes += bytes;
    this.flushing ??= this.flushPending();
    return done;
  }

  lag(nowMs: number): LogLag {
    const bytes = this.end - this.confirmed;
    if (bytes === 0) return { bytes: 0, spans: 0, oldestAgeMs: 0 };
    let oldest: AgeMark | undefined;
    for (const mark of this.ageMarks) {
      if (mark.offset > this.confirmed) break;
      oldest = mark;
    }
    oldest ??= this.ageMarks[0];
    return { bytes, spans: this.appendedSpans - this.confirmedSpans, oldestAgeMs: oldest ? Math.max(0, nowMs - oldest.receivedAtMs) : 0 };
  }

  /**
   * The store holds every record up to `offset` (a record end), `spans` spans more than before.
   * The checkpoint is written in the background; segments wholly below it are then deleted.
   */
  confirm(offset: number, spans: number): void {
    if (offset <= this.confirmed) return;
    this.confirmed = offset;
    this.confirmedSpans += spans;
    let keep = 0;
    while (keep + 1 < this.ageMarks.length && this.ageMarks[keep + 1].offset <= offset) keep++;
    if (keep > 0) this.ageMarks.splice(0, keep);
    this.checkpointing ??= this.writeCheckpoints();
  }

  /**
   * Records from `from` (a record boundary) up to `upTo`, stopping after `maxSpans` spans (at
   * least one record). A record whose checksum fails here (damaged after it was written) is
   * skipped with an error logged, so one bad sector does not stop ingest.
   */
  async read(from: number, upTo: number, maxSpans: number): Promise<StoredRecord[]> {
    const records: StoredRecord[] = [];
    let start = from;
    let spans = 0;
    while (start < upTo && (records.length === 0 || spans < maxSpans)) {
      const segment = this.segments.find((s) => start >= s.base && start < s.base + s.size);
      if (!segment) throw new Error(`ingest log: offset ${start} is in no segment`);
      const handle = await this.reader(segment.base);
      const position = start - segment.base;
      const header = Buffer.alloc(RECORD_HEADER_BYTES);
      await handle.read(header, 0, RECORD_HEADER_BYTES, position);
      const parsed = parseRecordHeader(header, segment.size - position, this.options.maxPayloadBytes);
      if (!parsed.ok) throw new Error(`ingest log: no valid record at offset ${start} (${parsed.defect})`);
      const payload = Buffer.allocUnsafe(parsed.payloadBytes);
      if (parsed.payloadBytes > 0) await handle.read(payload, 0, parsed.payloadBytes, position + RECORD_HEADER_BYTES);
      const end = start + RECORD_HEADER_BYTES + parsed.payloadBytes;
      const damaged = !checksumMatches(header, payload);
      if (damaged) {
        this.options.logger?.error(
          { offset: start, spans: parsed.meta.spanCount },
          'ingest log: a record failed its checksum when read back (damaged on disk); skipping it',
        );
      }
      records.push({ start, end, payload, damaged, ...parsed.meta });
      spans += parsed.meta.spanCount;
      start = end;
    }
    return records;
  }

  /** Waits for writes in flight, writes the last checkpoint and releases the directory. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.checkpointing) await (this.flushing ?? this.checkpointing);
    await this.active?.close();
    this.active = null;
    for (const handle of this.readers.values()) await handle.close();
    this.readers.clear();
    await this.checkpoint.close();
    this.unlock();
  }

  /** Opens the last segment for appending, or starts one. Called once by `openIngestLog`. */
  async openActiveSegment(): Promise<void> {
    const last = this.segments.at(-1);
    if (last && last.size < this.segmentBytes) {
      this.active = await open(segmentPath(this.options.dir, last.base), 'r+');
    } else {
      await this.startSegment(this.end);
    }
  }

  private async startSegment(base: number): Promise<void> {
    await this.active?.close();
    this.active = await open(segmentPath(this.options.dir, base), 'w+');
    syncDirectory(this.options.dir);
    this.segments.push({ base, size: 0 });
  }

  private async flushPending(): Promise<void> {
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      this.writingBytes = this.pendingBytes;
      this.pendingBytes = 0;
      try {
        await this.writeGroup(group);
      } catch (error) {
        const failure = new LogWriteError(`writing the ingest log failed: ${(error as Error).message}`);
        for (const append of group) append.reject(failure);
      } finally {
        this.writingBytes = 0;
      }
    }
    this.flushing = null;
  }

  private async writeGroup(group: PendingAppend[]): Promise<void> {
    let segment = this.segments.at(-1)!;
    if (this.damagedAt !== null) {
      await this.active!.truncate(this.damagedAt - segment.base);
      this.damagedAt = null;
    }
    if (segment.size > 0 && segment.size + this.writingBytes > this.segmentBytes) {
      await this.startSegment(this.end);
      segment = this.segments.at(-1)!;
    }
    const position = segment.size;
    const buffers: Buffer[] = [];
    for (const append of group) buffers.push(append.header, append.payload);
    try {
      await writeFully(this.active!, buffers, position);
      await this.active!.datasync();
    } catch (error) {
      // Undo what was written of the group so the file ends at a record boundary again.
      await this.active!.truncate(position).catch(() => (this.damagedAt = segment.base + position));
      throw error;
    }
    // The new end and the freed write budget are set before anyone hears of it.
    segment.size += this.writingBytes;
    this.writingBytes = 0;
    const appended: AppendedRecord[] = [];
    let start = segment.base + position;
    for (const append of group) {
      const end = start + RECORD_HEADER_BYTES + append.payload.length;
      const last = this.ageMarks.at(-1);
      if (!last || append.meta.receivedAtMs - last.receivedAtMs >= AGE_MARK_SPACING_MS) {
        this.ageMarks.push({ offset: start, receivedAtMs: append.meta.receivedAtMs });
      }
      this.appendedSpans += append.meta.spanCount;
      appended.push({ start, end });
      start = end;
    }
    this.end = start;
    group.forEach((append, i) => append.resolve(appended[i]));
  }

  /** Writes the confirmed offset until it is current, then deletes what it covers; retries failures every second. */
  private async writeCheckpoints(): Promise<void> {
    while (this.checkpointed < this.confirmed) {
      try {
        const offset = this.confirmed;
        await writeCheckpoint(this.checkpoint, offset);
        this.checkpointed = offset;
        await this.deleteConfirmedSegments();
      } catch (error) {
        this.options.logger?.error({ err: error }, 'ingest log: writing the checkpoint or deleting confirmed segments failed; retrying');
        if (this.closed) break;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    this.checkpointing = null;
  }

  private async deleteConfirmedSegments(): Promise<void> {
    while (this.segments.length > 1 && this.segments[0].base + this.segments[0].size <= this.checkpointed) {
      const [segment] = this.segments.splice(0, 1);
      const reader = this.readers.get(segment.base);
      this.readers.delete(segment.base);
      await reader?.close();
      await unlink(segmentPath(this.options.dir, segment.base));
    }
  }

  private async reader(base: number): Promise<FileHandle> {
    let handle = this.readers.get(base);
    if (!handle) {
      handle = await open(segmentPath(this.options.dir, base), 'r');
      this.readers.set(base, handle);
    }
    return handle;
  }
}

/** Writes every buffer at `position`, continuing after short writes. */
async function writeFully(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let remaining = buffers;
  let at = position;
  while (remaining.length > 0) {
    const { bytesWritten } = await handle.writev(remaining, at);
    at += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const buffer of remaining) {
      if (skip >= buffer.length) skip -= buffer.length;
      else {
        rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
    }
    if (bytesWritten === 0 && rest.length > 0) throw new Error('no progress writing the ingest log');
    remaining = rest;
  }
}
