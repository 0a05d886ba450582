/**
 * Spans lost between the SDK and the store, found from outside any one flow. Onceflow's span
 * processor numbers every sampled span of its export stream (`onceflow.export.stream`,
 * `onceflow.export.seq`, in start order); a number that never arrives while its neighbours did
 * is a span dropped on the way (a failed export, a full queue, a lossy pipeline). A consumer
 * span that ended its branch leaves no orphan in its flow when it is dropped, so only these
 * holes tell "never delivered" from "delivered, span lost": while the consuming service lost
 * spans, a would-be lost message is `unknown`, not lost.
 *
 * Services that do not number their spans (plain OpenTelemetry SDKs) show no losses here; the
 * in-flow gaps (orphans, attempt holes) still apply to them.
 *
 * Entry losses narrow that down. Every numbered span also carries how many entry spans
 * (consumer or server: deliveries, served requests) its stream has started
 * (`onceflow.export.entries`), and every entry span the message id of the entry before it
 * (`onceflow.export.previous_entry`). So a hole of client and internal spans hides no
 * delivery, and a lost delivery span is named by the next one received: only that message's
 * verdicts need doubt it. Several entries lost in a row leave all but the last unnamed, and
 * streams that do not count entries make every loss a possible entry of any message.
 */
import type { ExportEntryRow, ExportSequenceRow } from '../store/span-store.js';

export interface ExportLoss {
  service: string;
  stream: string;
  /** The missing spans started between these times (their received neighbours' starts), epoch ms. */
  fromMs: number;
  toMs: number;
  missing: number;
}

/** Entry spans (deliveries, served requests) lost at export. */
export interface EntryLoss extends ExportLoss {
  /** Whose delivery was lost, as named by the next entry received; null when unknown. */
  messageId: string | null;
}

const streamKey = (row: { service: string; stream: string }) => `${row.service}\u0000${row.stream}`;

function byStream<T extends { service: string; stream: string }>(rows: readonly T[]): Map<string, T[]> {
  const streams = new Map<string, T[]>();
  for (const row of rows) {
    const list = streams.get(streamKey(row));
    if (list) list.push(row);
    else streams.set(streamKey(row), [row]);
  }
  return streams;
}

/** The holes in each stream's numbers: inside a bucket, and between a stream's consecutive buckets. */
export function findExportLosses(rows: readonly ExportSequenceRow[]): ExportLoss[] {
  const losses: ExportLoss[] = [];
  for (const buckets of byStream(rows).values()) {
    buckets.sort((a, b) => a.minSeq - b.minSeq);
    let previous: ExportSequenceRow | undefined;
    for (const bucket of buckets) {
      const { service, stream } = bucket;
      const inside = bucket.maxSeq - bucket.minSeq + 1 - bucket.received;
      if (inside > 0) losses.push({ service, stream, fromMs: bucket.firstStartMs, toMs: bucket.lastStartMs, missing: inside });
      // Buckets overlap in numbers only when a span was given an explicit earlier start: no hole then.
      const between = previous ? bucket.minSeq - previous.maxSeq - 1 : 0;
      if (previous && between > 0) {
        losses.push({ service, stream, fromMs: previous.lastStartMs, toMs: bucket.firstStartMs, missing: between });
      }
      if (!previous || bucket.maxSeq > previous.maxSeq) previous = bucket;
    }
  }
  return losses.sort((a, b) => a.fromMs - b.fromMs || a.service.localeCompare(b.service));
}

/**
 * The entry spans lost in each stream (see the top of this file), from the same buckets as
 * `findExportLosses` and the entry spans received in them. A stream with a bucket that does not
 * count entries has each of its losses read as entries of unknown messages.
 */
export function findEntryLosses(rows: readonly ExportSequenceRow[], entryRows: readonly ExportEntryRow[]): EntryLoss[] {
  const received = byStream(entryRows);
  const losses: EntryLoss[] = [];
  for (const [key, buckets] of byStream(rows)) {
    if (buckets.some((b) => b.minEntries === null || b.maxEntries === null)) {
      for (const loss of findExportLosses(buckets)) losses.push({ ...loss, messageId: null });
      continue;
    }
    losses.push(...entryHoles(buckets, received.get(key) ?? []));
  }
  return losses.sort((a, b) => a.fromMs - b.fromMs || a.service.localeCompare(b.service));
}

/**
 * The entry numbers in (least, greatest] of a counting stream's buckets that were not received.
 * The least is carried by the stream's first span in the window, so entries up to it started
 * before the window. Each run of lost numbers is timed by the entries received around it (the
 * stream's first and last span where there is none), and each lost number named by the first
 * entry received after it, if it reaches back that far.
 */
function entryHoles(buckets: readonly ExportSequenceRow[], entries: readonly ExportEntryRow[]): EntryLoss[] {
  const { service, stream } = buckets[0];
  let least = Infinity;
  let greatest = -Infinity;
  let firstMs = Infinity;
  let lastMs = -Infinity;
  for (const b of buckets) {
    least = Math.min(least, b.minEntries!);
    greatest = Math.max(greatest, b.maxEntries!);
    firstMs = Math.min(firstMs, b.firstStartMs);
    lastMs = Math.max(lastMs, b.lastStartMs);
  }
  const byNumber = new Map<number, ExportEntryRow>();
  for (const entry of entries) if (entry.entries > least && entry.entries <= greatest) byNumber.set(entry.entries, entry);
  const losses: EntryLoss[] = [];
  let before: ExportEntryRow | undefined;
  let run: number[] = [];
  for (let n = least + 1; n <= greatest + 1; n += 1) {
    const entry = n <= greatest ? byNumber.get(n) : undefined;
    if (!entry && n <= greatest) {
      run.push(n);
      continue;
    }
    const fromMs = before?.startMs ?? firstMs;
    const toMs = entry?.startMs ?? lastMs;
    for (const lost of run) {
      // The received entries after the run name the entries before them, the latest first.
      const named = namedBy(byNumber, lost, greatest);
      const last = losses[losses.length - 1];
      if (named === null && last?.messageId === null && last.fromMs === fromMs && last.toMs === toMs) last.missing += 1;
      else losses.push({ service, stream, fromMs, toMs, missing: 1, messageId: named });
    }
    run = [];
    if (entry) before = entry;
  }
  return losses;
}

/** The message id the received entries after `lost` give it, if one of them names it. */
function namedBy(byNumber: ReadonlyMap<number, ExportEntryRow>, lost: number, greatest: number): string | null {
  for (let n = lost + 1; n <= greatest; n += 1) {
    const entry = byNumber.get(n);
    if (!entry) continue;
    return entry.previousEntries[n - lost - 1] || null;
  }
  return null;
}

/**
 * The losses of `services` (every service when null) that overlap [fromMs, toMs]: spans that
 * may have started in that time and never arrived.
 */
export function lossesDuring<T extends ExportLoss>(
  losses: readonly T[],
  services: ReadonlySet<string> | null,
  fromMs: number,
  toMs: number,
): T[] {
  return losses.filter((loss) => (!services || services.has(loss.service)) && loss.fromMs <= toMs && loss.toMs >= fromMs);
}

/** Missing spans per service, for a reason: `billing (3), orders (1)`. */
export function describeLosses(losses: readonly ExportLoss[]): string {
  const perService = new Map<string, number>();
  for (const loss of losses) perService.set(loss.service, (perService.get(loss.service) ?? 0) + loss.missing);
  return [...perService].map(([service, missing]) => `${service} (${missing})`).join(', ');
}
