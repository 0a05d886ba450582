/**
 * Flow records saved before the exactly-once ledger existed have none: both stores read them
 * back with every invariant `unknown` (the flow is judged again when its spans change), so
 * every summary they return has the contract's shape.
 */
import type { FlowSummary, InvariantVerdict, Ledger } from '../model/flow.js';

const NOT_JUDGED: InvariantVerdict = { verdict: 'unknown', evidence: [], reason: 'recorded before the ledger was kept' };

export const LEDGER_NOT_JUDGED: Ledger = {
  noDuplicateProcessing: NOT_JUDGED,
  noGhost: NOT_JUDGED,
  noLost: NOT_JUDGED,
  consistentOutput: NOT_JUDGED,
};

export function withLedger<T extends FlowSummary>(summary: T): T {
  return summary.ledger ? summary : { ...summary, ledger: LEDGER_NOT_JUDGED, verdict: 'unknown' };
}
