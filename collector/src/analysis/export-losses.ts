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
 */
import type { ExportSequenceRow } from '../store/span-store.js';

export interface ExportLoss {
  service: string;
  stream: string;
  /** The missing spans started between these times (their received neighbours' starts), epoch ms. */
  fromMs: number;
  toMs: number;
  missing: number;
}

/** The holes in each stream's numbers: inside a bucket, and between a stream's consecutive buckets. */
export function findExportLosses(rows: readonly ExportSequenceRow[]): ExportLoss[] {
  const streams = new Map<string, ExportSequenceRow[]>();
  for (const row of rows) {
    const key = `${row.service}\u0000${row.stream}`;
    const list = streams.get(key);
    if (list) list.push(row);
    else streams.set(key, [row]);
  }
  const losses: ExportLoss[] = [];
  for (const buckets of streams.values()) {
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
 * The losses of `services` (every service when null) that overlap [fromMs, toMs]: spans that
 * may have started in that time and never arrived.
 */
export function lossesDuring(
  losses: readonly ExportLoss[],
  services: ReadonlySet<string> | null,
  fromMs: number,
  toMs: number,
): ExportLoss[] {
  return losses.filter((loss) => (!services || services.has(loss.service)) && loss.fromMs <= toMs && loss.toMs >= fromMs);
}

/** Missing spans per service, for a reason: `billing (3), orders (1)`. */
export function describeLosses(losses: readonly ExportLoss[]): string {
  const perService = new Map<string, number>();
  for (const loss of losses) perService.set(loss.service, (perService.get(loss.service) ?? 0) + loss.missing);
  return [...perService].map(([service, missing]) => `${service} (${missing})`).join(', ');
}
