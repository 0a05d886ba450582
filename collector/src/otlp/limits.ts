/**
 * Limits that keep one misbehaving client from hurting the collector: request size (before
 * and after decompression), attribute sizes and nesting, counts per span, and how far
 * timestamps may stray. Exceeding a per-value limit truncates; a malformed span is rejected
 * and counted in `partialSuccess`; an oversized body is refused whole (413).
 */
export interface IngestLimits {
  /** Largest request body accepted, in bytes, enforced on the wire and again after gunzip. */
  maxBodyBytes: number;
  /** Longer string (or bytes, base64) attribute values are cut to this many characters. */
  maxAttributeValueLength: number;
  /** Arrays and key-value lists nested deeper than this are replaced by a marker. */
  maxAttributeDepth: number;
  /** Attributes per span, event, link or resource beyond this are dropped. */
  maxAttributesPerSpan: number;
  maxEventsPerSpan: number;
  maxLinksPerSpan: number;
  /** Span and event names longer than this are cut. */
  maxNameLength: number;
  /** Spans starting earlier than this (epoch ms) are rejected. */
  minStartMs: number;
  /** Spans starting (or ending) later than now + this are rejected. */
  maxFutureSkewMs: number;
}

/** Appended to a value that was cut to a limit, so readers see it is incomplete. */
export const TRUNCATION_MARKER = '…[truncated]';

export const DEFAULT_LIMITS: IngestLimits = {
  // The OTLP specification recommends 20 MiB.
  maxBodyBytes: 20 * 1024 * 1024,
  maxAttributeValueLength: 16 * 1024,
  maxAttributeDepth: 8,
  maxAttributesPerSpan: 256,
  maxEventsPerSpan: 256,
  maxLinksPerSpan: 128,
  maxNameLength: 1024,
  minStartMs: Date.UTC(2000, 0, 1),
  maxFutureSkewMs: 24 * 60 * 60 * 1000,
};

export function resolveLimits(limits: Partial<IngestLimits> = {}): IngestLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}
