/**
 * The flow's exactly-once ledger, at the top of flow detail: the overall verdict, then one line
 * per invariant with its verdict and why (what was violated, or what evidence is missing).
 */
import { INVARIANTS } from '@onceflow/collector/contract';
import type { Invariant, Ledger, Verdict } from '../model/types.js';

const INVARIANT_LABELS: Record<Invariant, string> = {
  noDuplicateProcessing: 'No duplicate processing',
  noGhost: 'No ghost messages',
  noLost: 'No lost messages',
  consistentOutput: 'Consistent output',
};

export function LedgerPanel({ ledger, verdict }: { ledger: Ledger; verdict: Verdict }) {
  return (
    <section className="ledger" aria-label="Exactly-once ledger" data-testid="ledger">
      <span className="ledger-title">
        Exactly once: <span className={`verdict-tag verdict-${verdict}`}>{verdict}</span>
      </span>
      <ul>
        {INVARIANTS.map((invariant) => {
          const { verdict: judged, reason, evidence } = ledger[invariant];
          return (
            <li
              key={invariant}
              data-testid={`ledger-${invariant}`}
              title={evidence.length > 0 ? `spans: ${evidence.join(', ')}` : undefined}
            >
              <span className={`verdict-tag verdict-${judged}`}>{judged}</span> {INVARIANT_LABELS[invariant]}
              {reason && <span className="muted"> — {reason}</span>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
