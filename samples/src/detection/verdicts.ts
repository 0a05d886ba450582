/**
 * The share of `unknown` verdicts in the collector's flow ledgers: for each flow, the ledger
 * (`noDuplicateProcessing`, `noGhost`, `noLost`, `consistentOutput`, each `{ verdict }`) says
 * whether an invariant held, was violated, or cannot be judged from the evidence. Counts
 * whatever ledger field the flow API returns; a collector without one gives no verdicts.
 */
export interface VerdictCount {
  flows: number;
  verdicts: number;
  unknown: number;
  /** The flow field the verdicts were read from. */
  field: string;
}

const LEDGER_FIELD = 'ledger';

export function countVerdicts(flows: readonly unknown[]): VerdictCount {
  let verdicts = 0;
  let unknown = 0;
  for (const flow of flows) {
    const ledger = (flow as Record<string, unknown> | null)?.[LEDGER_FIELD];
    if (!ledger || typeof ledger !== 'object') continue;
    for (const invariant of Object.values(ledger as Record<string, unknown>)) {
      const verdict = (invariant as { verdict?: unknown } | null)?.verdict;
      if (typeof verdict !== 'string') continue;
      verdicts += 1;
      if (verdict === 'unknown') unknown += 1;
    }
  }
  return { flows: flows.length, verdicts, unknown, field: LEDGER_FIELD };
}

/** The verdict of one invariant in a flow the API returned, if it has a ledger. */
export function verdictOf(flow: unknown, invariant: string): string | undefined {
  const ledger = (flow as Record<string, unknown> | null)?.[LEDGER_FIELD] as Record<string, { verdict?: unknown } | null> | undefined;
  const verdict = ledger?.[invariant]?.verdict;
  return typeof verdict === 'string' ? verdict : undefined;
}
