/**
 * The digest of a sent body (`onceflow.body_digest`), from which the collector tells a retried
 * attempt that sent the same message id with different content (inconsistent output). Only a
 * digest leaves the process, never the body; bodies above the size limit are not digested (the
 * hash would cost more than it is worth on the send path). Every send path (amqplib publishes,
 * `withSend`) goes through `setBodyDigest`.
 */
import { hash } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import { ATTR_BODY_DIGEST, BODY_DIGEST_PREFIX } from './semconv.js';

/** `false` turns digests off; otherwise bodies of at most `maxBytes` bytes are digested. */
export type BodyDigestOption = false | { maxBytes?: number };

export const DEFAULT_BODY_DIGEST_MAX_BYTES = 256 * 1024;
/** Hex characters of the SHA-256 kept: 128 bits, plenty to tell two bodies of one message id apart. */
const DIGEST_HEX_CHARS = 32;

export interface DigestSettings {
  enabled: boolean;
  maxBytes: number;
}

const DEFAULT_SETTINGS: DigestSettings = { enabled: true, maxBytes: DEFAULT_BODY_DIGEST_MAX_BYTES };
let settings: DigestSettings = DEFAULT_SETTINGS;

/**
 * Sets how sends are digested for this process (`startOnceflow({ bodyDigest })` calls it; an
 * application running its own NodeSDK may call it directly). A `maxBytes` that is not a
 * non-negative number is refused with an error and the settings stay as they were.
 */
export function configureBodyDigest(option: BodyDigestOption | undefined): void {
  if (option === undefined) {
    settings = DEFAULT_SETTINGS;
    return;
  }
  if (option === false) {
    settings = { ...DEFAULT_SETTINGS, enabled: false };
    return;
  }
  const maxBytes = option.maxBytes ?? DEFAULT_BODY_DIGEST_MAX_BYTES;
  if (typeof maxBytes !== 'number' || !(maxBytes >= 0)) {
    throw new RangeError(`bodyDigest.maxBytes must be a non-negative number of bytes, got ${String(maxBytes)}`);
  }
  settings = { enabled: true, maxBytes };
}

/**
 * `sha256:` + 32 hex characters of the body's bytes (a string is digested as UTF-8), or
 * undefined when digests are off or the body is larger than `maxBytes`.
 */
export function digestBody(body: string | Uint8Array, options: DigestSettings): string | undefined {
  if (!options.enabled) return undefined;
  const bytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  if (bytes > options.maxBytes) return undefined;
  // One-shot `hash` (Node ≥ 20.12): a quarter of `createHash`'s cost on small bodies, on every send.
  return BODY_DIGEST_PREFIX + hash('sha256', body, 'hex').slice(0, DIGEST_HEX_CHARS);
}

/** `digestBody` with this process's settings. */
export function bodyDigest(body: string | Uint8Array): string | undefined {
  return digestBody(body, settings);
}

/** Records the digest of `body` on a send span (nothing when digests are off or the body is too large). */
export function setBodyDigest(span: Span, body: string | Uint8Array | undefined): void {
  if (body === undefined) return;
  const digest = bodyDigest(body);
  if (digest) span.setAttribute(ATTR_BODY_DIGEST, digest);
}
