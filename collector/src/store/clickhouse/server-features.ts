/**
 * What the connected ClickHouse can do, decided once from `SELECT version()`.
 *
 * The schema targets Debian's 18.16 (what CI runs) and stays valid on current servers; the
 * few newer-only features are switched on here and nowhere else:
 * - data-skipping indexes (bloom filters on ids) — stable, without experimental settings, from 20.1;
 * - column codecs (Delta/ZSTD) — from 19.1, we require 20.1 to keep one threshold;
 * - TTL on tables — from 19.6; enabled with the others from 20.1.
 * Versions we cannot parse are treated as the oldest (nothing optional is used).
 */

export interface ServerFeatures {
  version: string;
  major: number;
  minor: number;
  skipIndexes: boolean;
  codecs: boolean;
  ttl: boolean;
}

/** Parses `18.16.1` / `24.8.4.13` / `25.3.2.39-stable` into the feature set. */
export function detectFeatures(version: string): ServerFeatures {
  const match = /^\s*(\d+)\.(\d+)/.exec(version);
  const major = match ? Number(match[1]) : 0;
  const minor = match ? Number(match[2]) : 0;
  const modern = major >= 20;
  return { version: version.trim(), major, minor, skipIndexes: modern, codecs: modern, ttl: modern };
}
