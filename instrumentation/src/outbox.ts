/**
 * The outbox as the instrumentation sees it, so commit-without-dispatch and late dispatch are
 * visible without the application listing ids by hand:
 *
 *   handler (attempt span)                       after commit
 *   ├─ outboxMessage({ messageType })  ─┐        withOutboxDispatch(() => publish rows)
 *   │    id recorded as outgoing        │          └─ send spans: onceflow.outbox.dispatch=true
 *   ├─ commit ── markCommitted()        │
 *   └─ markProcessed() ── onceflow.outgoing_message_ids = [id, …] (stored ids + sends)
 *
 * A committed attempt then lists every id it stored; an id listed and never sent is a
 * message stuck in (or lost from) the outbox, whichever code path forgot to dispatch it.
 */
import { context, type Context, type Span } from '@opentelemetry/api';
import { guard } from './guard.js';
import { OUTBOX_DISPATCH_KEY, currentScope, outgoingFrom, type OutgoingFields } from './scope.js';
import { ATTR_OUTBOX_DISPATCH } from './semconv.js';
import type { MessageIdentity } from './types.js';

/**
 * Runs `dispatch` (which sends outbox rows that were committed) so that every send started
 * inside it — amqplib publishes, `withSend` — is marked `onceflow.outbox.dispatch=true`.
 * Returns what `dispatch` returns (a promise stays a promise; async work inside keeps the mark).
 */
export function withOutboxDispatch<T>(dispatch: () => T): T {
  const ctx = guard('withOutboxDispatch', () => context.active().setValue(OUTBOX_DISPATCH_KEY, true), undefined);
  return ctx ? context.with(ctx, dispatch) : dispatch();
}

/** Marks a send span started under `withOutboxDispatch` (called by the span processor and `withSend`). */
export function markOutboxDispatch(span: Span, parentContext: Context): void {
  if (parentContext.getValue(OUTBOX_DISPATCH_KEY) === true) span.setAttribute(ATTR_OUTBOX_DISPATCH, true);
}

/**
 * The current attempt produced these messages (e.g. stored them in its outbox): a processed
 * attempt lists them in `onceflow.outgoing_message_ids` together with what it sent, unless
 * the application passes its own list to `markProcessed`. Does nothing outside an attempt.
 */
export function recordOutgoing(...messageIds: string[]): void {
  guard('recordOutgoing', () => {
    const scope = currentScope();
    if (!scope) return;
    for (const id of messageIds) if (typeof id === 'string' && id !== '') scope.outgoing.push(id);
  });
}

/**
 * Identity for a message the current attempt stores in its outbox (as `outgoingIdentity`:
 * conversation inherited, causation = the handled message, id minted unless given), recorded
 * as outgoing. Store `identityHeaders(identity)` with the row and send them on dispatch.
 */
export function outboxMessage(fields: OutgoingFields = {}): MessageIdentity {
  const scope = currentScope();
  const { identity } = outgoingFrom(scope, fields);
  if (scope) scope.outgoing.push(identity.messageId);
  return identity;
}
