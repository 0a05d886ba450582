/**
 * The ground truth detection is scored against, derived after a run from business state
 * (`business-state.ts`) and the injection log, never from what the runtime told its telemetry.
 * Pure: no I/O. Each expected anomaly names the service its endpoint runs in, as the
 * collector's anomalies do (marketing's second queue, `marketing-analytics`, is marketing).
 *
 * - dead-letter: every message in a dead-letter queue.
 * - duplicate-processing: a message whose effect a ledger holds more than once (marketing's
 *   ledgers, orders' history, and the payment provider's executions, each an effect of
 *   billing's BillCustomer: a charge executed twice for one BillCustomer counts there).
 * - uncommitted-side-effect: an external effect (a payment provider execution) of a message
 *   its service never processed: the charge stays, no committed processing accounts for it
 *   (billing's inbox is never swept, so "not processed" means no attempt committed).
 * - missing-payload: an injected early delete of a claim-check blob (logged per reader) whose
 *   committed claim check's blob is gone from the listing, whose message a receiver consumed
 *   (one never dispatched is read by nobody) and whose reader never processed it (it could not
 *   read it; a reader that came before the delete processed it).
 * - orphaned-payload: a blob the store still lists that nobody will read: no committed claim
 *   check refers to it (what the blob collector would remove), or the one that does is for a
 *   message no outbox holds and no receiver consumed (committed without dispatch: it never
 *   leaves, and the collector keeps the blob for ever). About the message whose processing
 *   stored it (its writer; the blob's ref when unknown, so that it shows as missed). A blob the
 *   collector already removed is not counted, as the collector withdraws the orphan once the
 *   delete (made in the blob's stored conversation) reaches it; its retention (10 min by
 *   default) outlasts a measured run, so none is removed during one.
 * - logical-duplicate: a producer's outbox committed the same kind of message for the same
 *   incoming message more than once under different ids; every copy after the first.
 * - out-of-order: in a per-key history a consumer keeps (`sequences`), a message applied
 *   before one of the same key that was sent (committed to its producer's outbox) earlier:
 *   the message that overtook, as the collector names it.
 * - offload: every committed claim check whose message was dispatched.
 * - ghost-message: an injected ghost that no committed outbox holds, yet a receiver consumed.
 * - premature-publish: an injected early publish whose producer's outbox did commit it.
 * - inconsistent-output: an injected re-send under the same id whose outbox committed a body
 *   other than the one the failed attempt sent.
 * - stuck-outbox: an injected commit without dispatch (the `lost` bug) that no outbox holds
 *   and no receiver ever consumed. The endpoints record their commit and outgoing ids
 *   (`markProcessed` after the commit), and a committed outgoing id never dispatched is what
 *   the collector's taxonomy calls a stuck outbox (a `lost-message` is a message sent and
 *   never delivered; the samples inject none of those, so its truth stays empty and any found
 *   is a false one).
 * - retry: an injected failing attempt whose message was then processed by that endpoint.
 * - duplicate-delivery: an injected (or observed) redelivery to an endpoint that did not
 *   dead-letter the message (a dead letter is reported as such, not as a duplicate).
 */
import type { TruthRecord } from '../faults/ground-truth.js';
import { serviceOfEndpoint } from '../services/extra-endpoints.js';
import type { BusinessState } from './business-state.js';

export type ExpectedAnomaly = Pick<TruthRecord, 'kind' | 'messageId' | 'service' | 'messageType'> & { detail: string };

const key = (service: string, messageId: string) => `${service}\u0000${messageId}`;

export function deriveTruth(state: BusinessState, injected: readonly TruthRecord[]): ExpectedAnomaly[] {
  const processed = new Set(state.processed.map((p) => key(p.service, p.messageId)));
  const consumed = new Set([...state.processed, ...state.deadLetters].map((p) => p.messageId));
  const deadAt = new Set(state.deadLetters.map((d) => key(d.service, d.messageId)));
  const committed = new Set(state.outbox.map((o) => o.messageId));
  const dispatched = new Set(state.outbox.filter((o) => o.dispatched).map((o) => o.messageId));
  const listed = new Set(state.blobs);
  const gone = new Set(state.claimChecks.filter((c) => !listed.has(c.ref)).map((c) => c.messageId));
  const truth: ExpectedAnomaly[] = [];

  for (const d of state.deadLetters) truth.push({ kind: 'dead-letter', ...d, detail: 'in the dead-letter queue' });
  const applications = new Map<string, { count: number; effect: BusinessState['effects'][number] }>();
  for (const effect of state.effects) {
    const k = key(effect.service, effect.messageId);
    applications.set(k, { count: (applications.get(k)?.count ?? 0) + 1, effect });
  }
  for (const { count, effect } of applications.values()) {
    const { external, ...expected } = effect;
    if (count > 1) truth.push({ kind: 'duplicate-processing', ...expected, detail: `effect applied ${count}×` });
    if (external && !processed.has(key(effect.service, effect.messageId)))
      truth.push({ kind: 'uncommitted-side-effect', ...expected, detail: 'executed by a third party; no processing of it committed' });
  }
  truth.push(...logicalDuplicates(state.outbox), ...overtakers(state));
  // A claim check whose message never leaves (commit without dispatch) refers to a blob nobody reads.
  const referenced = new Set(state.claimChecks.filter((c) => committed.has(c.messageId) || consumed.has(c.messageId)).map((c) => c.ref));
  for (const ref of state.blobs.filter((b) => !referenced.has(b))) {
    const writer = state.blobWriters.find((w) => w.ref === ref) ?? { service: 'invoicing', messageId: ref, messageType: 'OrderBilled' };
    truth.push({
      kind: 'orphaned-payload',
      service: writer.service,
      messageId: writer.messageId,
      messageType: writer.messageType,
      detail: ref,
    });
  }
  for (const c of state.claimChecks) {
    if (dispatched.has(c.messageId))
      truth.push({ kind: 'offload', messageId: c.messageId, service: c.service, messageType: c.messageType, detail: c.ref });
  }

  for (const r of injected) {
    const detail = r.detail ?? 'injected';
    const base = { messageId: r.messageId, service: r.service, messageType: r.messageType, detail };
    if (r.kind === 'ghost-message' && !committed.has(r.messageId) && consumed.has(r.messageId)) truth.push({ ...base, kind: r.kind });
    if ((r.kind === 'premature-publish' || r.kind === 'inconsistent-output') && committed.has(r.messageId))
      truth.push({ ...base, kind: r.kind });
    if (r.kind === 'lost-message' && !committed.has(r.messageId) && !consumed.has(r.messageId))
      truth.push({ ...base, kind: 'stuck-outbox' });
    if (r.kind === 'retry' && processed.has(key(r.service, r.messageId))) truth.push({ ...base, kind: r.kind });
    if (r.kind === 'missing-payload' && gone.has(r.messageId) && consumed.has(r.messageId) && !processed.has(key(r.service, r.messageId)))
      truth.push({ ...base, kind: r.kind });
    if (r.kind === 'duplicate-delivery' && !deadAt.has(key(r.service, r.messageId))) truth.push({ ...base, kind: r.kind });
  }
  // Stores and the injection log name the endpoint; anomalies name the service (and endpoint).
  return truth.map((t) => ({ ...t, service: serviceOfEndpoint(t.service) }));
}

/** Every copy after the first of a message an outbox committed more than once for one incoming message. */
function logicalDuplicates(outbox: BusinessState['outbox']): ExpectedAnomaly[] {
  const groups = new Map<string, BusinessState['outbox']>();
  for (const row of outbox) {
    if (row.incomingId === undefined) continue;
    const k = `${row.service}\u0000${row.incomingId}\u0000${row.messageType}`;
    groups.set(k, [...(groups.get(k) ?? []), row]);
  }
  const found: ExpectedAnomaly[] = [];
  for (const rows of groups.values()) {
    const [first, ...copies] = [...rows].sort((a, b) => (a.createdAtMs ?? 0) - (b.createdAtMs ?? 0));
    for (const copy of copies) {
      found.push({
        kind: 'logical-duplicate',
        messageId: copy.messageId,
        service: copy.service,
        messageType: copy.messageType,
        detail: `${copy.messageType} for ${copy.incomingId} committed again under a new id (first ${first.messageId})`,
      });
    }
  }
  return found;
}

/** Messages of a key's history applied before one of the same key sent earlier. */
function overtakers(state: BusinessState): ExpectedAnomaly[] {
  const sentAt = new Map(state.outbox.map((o) => [o.messageId, o.createdAtMs]));
  const histories = new Map<string, Map<string, { messageType: string; sentMs: number; appliedMs: number }>>();
  for (const event of state.sequences) {
    const sentMs = sentAt.get(event.messageId);
    // A message whose sending is not on record cannot be placed: left out.
    if (sentMs === undefined) continue;
    const k = key(event.service, event.key);
    const history = histories.get(k) ?? new Map<string, { messageType: string; sentMs: number; appliedMs: number }>();
    histories.set(k, history);
    const known = history.get(event.messageId);
    if (!known || event.appliedAtMs < known.appliedMs)
      history.set(event.messageId, { messageType: event.messageType, sentMs, appliedMs: event.appliedAtMs });
  }
  const found: ExpectedAnomaly[] = [];
  for (const [k, history] of histories) {
    const service = k.slice(0, k.indexOf('\u0000'));
    for (const [messageId, event] of history) {
      const overtaken = [...history].find(([, earlier]) => earlier.sentMs < event.sentMs && earlier.appliedMs > event.appliedMs);
      if (overtaken)
        found.push({
          kind: 'out-of-order',
          messageId,
          service,
          messageType: event.messageType,
          detail: `applied before ${overtaken[0]}, sent earlier`,
        });
    }
  }
  return found;
}
