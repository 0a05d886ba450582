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
  /** `unknown` verdicts per invariant and kind of missing evidence (`causeOf`), most first. */
  unknownByCause: [string, number][];
  /** The flow field the verdicts were read from. */
  field: string;
}

/** The kinds of missing evidence the collector's `unknown` reasons name, without their particulars. */
const CAUSES: [RegExp, (match: RegExpMatchArray) => string][] = [
  [/a delivery span of this message was lost at export by ([^:]*?) \(named/, (m) => `its own delivery span lost at export by ${m[1]}`],
  [/delivery spans lost at export by ([^:]*?) in that time/, (m) => `delivery spans lost at export by ${m[1].replace(/ \(\d+\)/g, '')}`],
  [/spans lost at export by ([^:]*?) in that time/, (m) => `spans lost at export by ${m[1].replace(/ \(\d+\)/g, '')}`],
  [/spans missing from trace/, () => 'spans missing from a trace'],
  [/no numbered spans/, () => 'a consumer without export numbers'],
  [/exported no span that started after/, () => 'a consumer silent since the send'],
  [/left no span/, () => 'attempt numbers with holes'],
  [/records no outcomes/, () => 'a service without outcomes'],
  [/carry no body digest/, () => 'no body digests'],
  [/no known subscriber/, () => 'no known subscriber'],
  [/is scheduled/, () => 'a retry still scheduled'],
];

/** The kind of missing evidence an `unknown` reason names (its first words when none matches). */
export function causeOf(reason: string): string {
  for (const [pattern, name] of CAUSES) {
    const match = reason.match(pattern);
    if (match) return name(match);
  }
  return reason.split(/[:(]/)[0].trim().slice(0, 60);
}

const LEDGER_FIELD = 'ledger';

export function countVerdicts(flows: readonly unknown[]): VerdictCount {
  let verdicts = 0;
  let unknown = 0;
  const causes = new Map<string, number>();
  for (const flow of flows) {
    const ledger = (flow as Record<string, unknown> | null)?.[LEDGER_FIELD];
    if (!ledger || typeof ledger !== 'object') continue;
    for (const [name, invariant] of Object.entries(ledger as Record<string, unknown>)) {
      const { verdict, reason } = (invariant ?? {}) as { verdict?: unknown; reason?: unknown };
      if (typeof verdict !== 'string') continue;
      verdicts += 1;
      if (verdict !== 'unknown') continue;
      unknown += 1;
      const cause = `${name}: ${causeOf(typeof reason === 'string' ? reason : '')}`;
      causes.set(cause, (causes.get(cause) ?? 0) + 1);
    }
  }
  const unknownByCause = [...causes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { flows: flows.length, verdicts, unknown, unknownByCause, field: LEDGER_FIELD };
}

/** The verdict of one invariant in a flow the API returned, if it has a ledger, and its reason. */
export function judgementOf(flow: unknown, invariant: string): { verdict?: string; reason?: string } {
  const ledger = (flow as Record<string, unknown> | null)?.[LEDGER_FIELD] as
    Record<string, { verdict?: unknown; reason?: unknown } | null> | undefined;
  const { verdict, reason } = ledger?.[invariant] ?? {};
  return { verdict: typeof verdict === 'string' ? verdict : undefined, reason: typeof reason === 'string' && reason ? reason : undefined };
}
