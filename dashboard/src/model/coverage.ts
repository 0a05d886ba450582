/**
 * Presentation of instrumentation coverage (`GET /api/coverage`): shares as percentages with a
 * level to colour them by, and the ledger's invariants in words. Pure.
 */
import type { CoverageInvariant } from '@onceflow/collector/contract';

/** How complete a share is: all of it, some of it, none of it, or nothing to measure. */
export type ShareLevel = 'full' | 'partial' | 'none' | 'n/a';

export function shareLevel(share: number | null): ShareLevel {
  if (share === null || !Number.isFinite(share)) return 'n/a';
  if (share >= 1) return 'full';
  return share <= 0 ? 'none' : 'partial';
}

/**
 * How complete a service's export is, from the share of its numbered spans lost on the way:
 * nothing lost is full; a loss of 5 % or more makes most of its flows' verdicts unknown.
 */
export function exportLossLevel(lossShare: number | null): ShareLevel {
  if (lossShare === null || !Number.isFinite(lossShare)) return 'n/a';
  if (lossShare <= 0) return 'full';
  return lossShare >= 0.05 ? 'none' : 'partial';
}

/** 100 %, 99.5 %, 37 %, 0 %; a share that is not 1 never rounds up to 100 %; '–' when nothing to share. */
export function formatShare(share: number | null): string {
  if (share === null || !Number.isFinite(share)) return '–';
  if (share >= 1) return '100 %';
  const percent = share * 100;
  const text =
    percent >= 99
      ? (Math.floor(percent * 10) / 10).toFixed(1)
      : percent < 1 && percent > 0
        ? percent.toFixed(1)
        : String(Math.round(percent));
  return `${text} %`;
}

export const INVARIANT_LABELS: Record<CoverageInvariant, string> = {
  noDuplicateProcessing: 'no duplicate processing',
  noGhost: 'no ghost messages',
  noLost: 'no lost messages',
  consistentOutput: 'consistent output',
};
