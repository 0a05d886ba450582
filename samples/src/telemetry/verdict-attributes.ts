/**
 * The attributes agreed for the collector's verdicts (TEAM attribute list, issue 11) that the
 * samples set themselves: the endpoint (service/queue) of an attempt, when it committed, and which sends are outbox dispatches
 * after a commit (as opposed to a send inside, or before, the handler's transaction).
 */
import { trace } from '@opentelemetry/api';

export const ATTR_ENDPOINT = 'onceflow.endpoint';
/** Resource attribute: how long the service's endpoints keep processed ids. */
export const ATTR_DEDUP_WINDOW_MS = 'onceflow.dedup_window_ms';
export const ATTR_COMMITTED_AT_MS = 'onceflow.committed_at_ms';
export const ATTR_OUTBOX_DISPATCH = 'onceflow.outbox.dispatch';

/** On the active attempt span: its transaction committed now. */
export function markCommittedNow(): void {
  trace.getActiveSpan()?.setAttribute(ATTR_COMMITTED_AT_MS, Date.now());
}

/** On the active send span: this send dispatches an outbox row after its commit. */
export function markOutboxDispatch(): void {
  trace.getActiveSpan()?.setAttribute(ATTR_OUTBOX_DISPATCH, true);
}
