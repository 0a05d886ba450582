/**
 * Spans lost at export around a flow's time, for the flow analysis (see
 * `analysis/export-losses.ts`): the store's export sequence aggregate in 10 s buckets, and where
 * it shows losses the entry spans received in them (which name the deliveries lost), each
 * bucket read again only while its spans may still be arriving, and at most every
 * `REREAD_AFTER_MS` — every flow judged in a minute shares the same few reads.
 */
import { findEntryLosses, findExportLosses, type EntryLoss, type ExportLoss, type ModelOptions } from '../analysis/index.js';
import { nsToMs, type SpanRow } from '../model/span.js';
import type { ExportEntryRow, ExportSequenceRow, SpanStore } from '../store/span-store.js';

export const EXPORT_BUCKET_MS = 10_000;
/** After this long past its end a bucket's spans have arrived (or are lost): it is not read again. */
const SETTLED_AFTER_MS = 60_000;
const REREAD_AFTER_MS = 10_000;
/** Buckets older than this are forgotten (flows that old are not judged again in the normal course). */
const KEEP_MS = 2 * 3_600_000;

interface Bucket {
  rows: ExportSequenceRow[];
  /** Its entry spans, read (after its rows) only once a loss needs naming; null until then. */
  entries: ExportEntryRow[] | null;
  readAtMs: number;
}

export interface ExportEvidence {
  /** Losses that may have started in the window asked for. */
  losses: ExportLoss[];
  /** The entry spans among them, named by message where known. */
  entryLosses: EntryLoss[];
  /** Per service whose spans are numbered: the start of its latest numbered span read so far. */
  exportedUntil: ReadonlyMap<string, number>;
}

export interface ExportLossSource {
  /** Export evidence between `fromMs` and `toMs`, read as of `nowMs`. */
  evidenceAround(fromMs: number, toMs: number, nowMs: number): Promise<ExportEvidence>;
}

const bucketOf = (ms: number) => Math.floor(ms / EXPORT_BUCKET_MS) * EXPORT_BUCKET_MS;

export function createExportLossSource(store: SpanStore): ExportLossSource {
  const buckets = new Map<number, Bucket>();
  const exportedUntil = new Map<string, number>();
  const stale = (start: number, nowMs: number) => {
    const bucket = buckets.get(start);
    if (!bucket) return true;
    const settled = bucket.readAtMs >= start + EXPORT_BUCKET_MS + SETTLED_AFTER_MS;
    return !settled && nowMs - bucket.readAtMs >= REREAD_AFTER_MS;
  };

  async function read(first: number, last: number, nowMs: number): Promise<void> {
    const rows = await store.exportSequences({ fromMs: first, toMs: last + EXPORT_BUCKET_MS }, EXPORT_BUCKET_MS);
    for (let start = first; start <= last; start += EXPORT_BUCKET_MS) buckets.set(start, { rows: [], entries: null, readAtMs: nowMs });
    for (const row of rows) {
      buckets.get(row.bucketMs)?.rows.push(row);
      exportedUntil.set(row.service, Math.max(exportedUntil.get(row.service) ?? 0, row.lastStartMs));
    }
  }

  /**
   * The entry spans of the buckets that have none read since their rows. Read after the rows,
   * so they hold every entry the rows count (and maybe later ones, which naming ignores).
   */
  async function readEntries(starts: number[]): Promise<void> {
    const unread = starts.filter((start) => buckets.get(start)?.entries === null);
    if (unread.length === 0) return;
    const first = unread[0];
    const last = unread[unread.length - 1];
    const entries = await store.exportEntries({ fromMs: first, toMs: last + EXPORT_BUCKET_MS });
    for (let start = first; start <= last; start += EXPORT_BUCKET_MS) {
      const bucket = buckets.get(start);
      if (bucket) bucket.entries = [];
    }
    for (const entry of entries) buckets.get(bucketOf(entry.startMs))?.entries?.push(entry);
  }

  return {
    async evidenceAround(fromMs, toMs, nowMs) {
      for (const start of buckets.keys()) if (start < nowMs - KEEP_MS) buckets.delete(start);
      // One bucket either side: a hole between a stream's last span before the window and its
      // first inside it is found only when both buckets are read.
      const first = bucketOf(fromMs) - EXPORT_BUCKET_MS;
      const last = bucketOf(Math.min(toMs, nowMs)) + EXPORT_BUCKET_MS;
      const starts: number[] = [];
      for (let start = first; start <= last; start += EXPORT_BUCKET_MS) starts.push(start);
      const toRead = starts.filter((start) => stale(start, nowMs));
      if (toRead.length > 0) await read(toRead[0], toRead[toRead.length - 1], nowMs);
      const rows = starts.flatMap((start) => buckets.get(start)?.rows ?? []);
      const losses = findExportLosses(rows);
      // Entry spans only where something was lost: a whole stream costs one aggregate read.
      if (losses.length === 0) return { losses, entryLosses: [], exportedUntil };
      await readEntries(starts);
      const entries = starts.flatMap((start) => buckets.get(start)?.entries ?? []);
      return { losses, entryLosses: findEntryLosses(rows, entries), exportedUntil };
    },
  };
}

/**
 * The export evidence a flow's analysis takes: losses from its first span until now, and how far
 * each numbered service has exported. With `untilMs` before now (a flow judged then, shown
 * later), only the losses whose spans around the hole had both started by then: those the
 * judgement could see, not those found since.
 */
export async function exportEvidenceOf(
  source: ExportLossSource,
  spans: readonly SpanRow[],
  nowMs: number,
  untilMs = nowMs,
): Promise<Required<Pick<ModelOptions, 'exportLosses' | 'entryLosses' | 'exportedUntil'>>> {
  let first = spans[0].startNs;
  for (const span of spans) if (span.startNs < first) first = span.startNs;
  const { losses, entryLosses, exportedUntil } = await source.evidenceAround(nsToMs(first), untilMs, nowMs);
  const seen = <T extends ExportLoss>(all: T[]) => (untilMs >= nowMs ? all : all.filter((loss) => loss.toMs <= untilMs));
  return { exportLosses: seen(losses), entryLosses: seen(entryLosses), exportedUntil };
}
