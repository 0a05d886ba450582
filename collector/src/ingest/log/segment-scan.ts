/**
 * Recovery of the ingest log at start: finds where the valid log ends, checking every record
 * the store has not confirmed, and cuts a torn or corrupt tail at the last valid record
 * (truncating that segment and deleting any segment after it). What is left is exactly the
 * acknowledged records: a record is acknowledged only after its bytes were fsynced, and a
 * crash can only tear what was being written.
 */
import { readFileSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { checksumMatches, parseRecordHeader, RECORD_HEADER_BYTES, type RecordDefect } from './record-format.js';
import { listSegments, type SegmentFile } from './segment-files.js';

export interface ScannedSegment extends SegmentFile {
  /** Bytes of the segment; it ends at `base + size`, where the next one begins. */
  size: number;
}

/** A point in the log where a new receive second began: how the age of the oldest unconfirmed span is known. */
export interface AgeMark {
  offset: number;
  receivedAtMs: number;
}

export interface ScanResult {
  segments: ScannedSegment[];
  /** Offset up to which the store confirmed every record (a record boundary). */
  confirmed: number;
  /** End of the last valid record. */
  end: number;
  unconfirmedRecords: number;
  unconfirmedSpans: number;
  ageMarks: AgeMark[];
  /** What was cut off the tail, if anything. */
  cut: { bytes: number; defect: RecordDefect | 'gap'; at: number } | null;
}

/** Age marks are kept at most one per this many ms of receive time, so they stay few. */
export const AGE_MARK_SPACING_MS = 1000;

export function scanLog(dir: string, checkpoint: number | null, maxPayloadBytes: number): ScanResult {
  const files = listSegments(dir);
  const segments: ScannedSegment[] = files.map((file) => ({ ...file, size: statSync(file.path).size }));
  const first = segments[0];
  let confirmed = checkpoint ?? (first ? first.base : 0);
  if (first && confirmed < first.base) confirmed = first.base;
  const result: ScanResult = { segments, confirmed, end: confirmed, unconfirmedRecords: 0, unconfirmedSpans: 0, ageMarks: [], cut: null };

  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const previous = segments[i - 1];
    const contiguous = !previous || previous.base + previous.size === segment.base;
    const bytes = segment.base + segment.size > confirmed || !contiguous ? readFileSync(segment.path) : null;
    if (!contiguous) {
      cutFrom(result, i, segment.base, 'gap');
      break;
    }
    if (!bytes) {
      result.end = segment.base + segment.size;
      continue;
    }
    let position = Math.min(Math.max(0, confirmed - segment.base), segment.size);
    while (position < segment.size) {
      const header = bytes.subarray(position, position + RECORD_HEADER_BYTES);
      const parsed = parseRecordHeader(header, segment.size - position, maxPayloadBytes);
      const payload = parsed.ok
        ? bytes.subarray(position + RECORD_HEADER_BYTES, position + RECORD_HEADER_BYTES + parsed.payloadBytes)
        : null;
      if (!parsed.ok || !checksumMatches(header, payload!)) {
        const defect = parsed.ok ? 'corrupt' : parsed.defect;
        truncateSync(segment.path, position);
        const cutHere = segment.size - position;
        segment.size = position;
        cutFrom(result, i + 1, segment.base + position, defect, cutHere);
        result.end = segment.base + position;
        return finish(result);
      }
      const offset = segment.base + position;
      const last = result.ageMarks.at(-1);
      if (!last || parsed.meta.receivedAtMs - last.receivedAtMs >= AGE_MARK_SPACING_MS) {
        result.ageMarks.push({ offset, receivedAtMs: parsed.meta.receivedAtMs });
      }
      result.unconfirmedRecords++;
      result.unconfirmedSpans += parsed.meta.spanCount;
      position += RECORD_HEADER_BYTES + parsed.payloadBytes;
    }
    result.end = segment.base + segment.size;
  }
  return finish(result);
}

/** Deletes segments from index `from` on and records the cut (adding `alreadyCut` bytes of a truncated segment). */
function cutFrom(result: ScanResult, from: number, at: number, defect: RecordDefect | 'gap', alreadyCut = 0): void {
  let bytes = alreadyCut;
  for (const segment of result.segments.splice(from)) {
    bytes += segment.size;
    unlinkSync(segment.path);
  }
  if (bytes > 0) result.cut = { bytes, defect, at };
}

function finish(result: ScanResult): ScanResult {
  if (result.end < result.confirmed) result.confirmed = result.end;
  return result;
}
