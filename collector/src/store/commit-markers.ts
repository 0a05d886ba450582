/**
 * The commit-marker attribute names the outbox dispatch latency reads (issue 11). They are the
 * strings `@onceflow/instrumentation/semconv` defines as `ATTR_COMMITTED_AT_MS` and
 * `ATTR_OUTBOX_DISPATCH` on the instrumentation's branch; kept here until that lands.
 */
/** Epoch ms at which an attempt's transaction committed (on the attempt span). */
export const ATTR_COMMITTED_AT_MS = 'onceflow.committed_at_ms';
/** `true` on a send that dispatches an outbox row after its transaction committed. */
export const ATTR_OUTBOX_DISPATCH = 'onceflow.outbox.dispatch';
