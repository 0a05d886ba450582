/**
 * The byte layout of the ingest log's records (see README.md beside this file): the record
 * header and its CRC32C. Pure functions over buffers; the log's file handling
 * (`ingest-log.ts`) and its recovery scan (`segment-scan.ts`) build on them.
 */
import { crc32c } from '@node-rs/crc32';

export const RECORD_HEADER_BYTES = 24;
export const RECORD_VERSION = 1;

/** How a record's payload (the request body after Content-Encoding) is encoded. */
export type PayloadEncoding = 'protobuf' | 'json';
const ENCODING_CODES: Record<PayloadEncoding, number> = { protobuf: 1, json: 2 };
const ENCODINGS: Record<number, PayloadEncoding> = { 1: 'protobuf', 2: 'json' };

export interface RecordMeta {
  /** When the collector received the request (epoch ms): also the `now` its spans were validated with. */
  receivedAtMs: number;
  /** Spans of the request that passed validation (the ones the store gets). */
  spanCount: number;
  encoding: PayloadEncoding;
}

export interface LogRecord extends RecordMeta {
  payload: Buffer;
}

/** The 24-byte header of a record whose payload is `payload` (its CRC covers header and payload). */
export function encodeRecordHeader(meta: RecordMeta, payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeDoubleLE(meta.receivedAtMs, 8);
  header.writeUInt32LE(meta.spanCount, 16);
  header.writeUInt8(ENCODING_CODES[meta.encoding], 20);
  header.writeUInt8(RECORD_VERSION, 21);
  header.writeUInt16LE(0, 22);
  header.writeUInt32LE(crc32c(payload, crc32c(header.subarray(8))), 4);
  return header;
}

/** Why bytes at some position are not a record: the tail was torn, or the bytes are wrong. */
export type RecordDefect = 'torn' | 'corrupt';

export type ParsedHeader = { ok: true; payloadBytes: number; meta: RecordMeta } | { ok: false; defect: RecordDefect };

/**
 * Reads a record header from `header` (which may be shorter than a header when the file ends);
 * `available` is how many bytes the file holds from the header's start. The CRC is checked
 * separately (`checksumMatches`) once the payload is read.
 */
export function parseRecordHeader(header: Buffer, available: number, maxPayloadBytes: number): ParsedHeader {
  if (available < RECORD_HEADER_BYTES || header.length < RECORD_HEADER_BYTES) return { ok: false, defect: 'torn' };
  const payloadBytes = header.readUInt32LE(0);
  const encoding = ENCODINGS[header.readUInt8(20)];
  if (payloadBytes > maxPayloadBytes || !encoding || header.readUInt8(21) !== RECORD_VERSION || header.readUInt16LE(22) !== 0) {
    // A header of zeros is what a crash leaves when the file was extended but not written.
    return { ok: false, defect: isAllZero(header) || available < RECORD_HEADER_BYTES + payloadBytes ? 'torn' : 'corrupt' };
  }
  if (available < RECORD_HEADER_BYTES + payloadBytes) return { ok: false, defect: 'torn' };
  return {
    ok: true,
    payloadBytes,
    meta: { receivedAtMs: header.readDoubleLE(8), spanCount: header.readUInt32LE(16), encoding },
  };
}

export function checksumMatches(header: Buffer, payload: Uint8Array): boolean {
  return header.readUInt32LE(4) === crc32c(payload, crc32c(header.subarray(8, RECORD_HEADER_BYTES)));
}

function isAllZero(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}
