/**
 * The ground truth detection is scored against, derived after a run from business state
 * (`business-state.ts`) and the injection log, never from what the runtime told its telemetry.
 * Pure: no I/O. Each expected anomaly names the service its endpoint runs in, as the
 * collector's anomalies do (marketing's second queue, `marketing-analytics`, is marketing).
 *
 * - dead-letter: every message in a dead-letter queue.
 * - duplicate-processing: a message whose effect a ledger holds more than once.
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
  const truth: ExpectedAnomaly[] = [];

  for (const d of state.deadLetters) truth.push({ kind: 'dead-letter', ...d, detail: 'in the dead-letter queue' });
  const applications = new Map<string, { count: number; effect: BusinessState['effects'][number] }>();
  for (const effect of state.effects) {
    const k = key(effect.service, effect.messageId);
    applications.set(k, { count: (applications.get(k)?.count ?? 0) + 1, effect });
  }
  for (const { count, effect } of applications.values()) {
    if (count > 1) truth.push({ kind: 'duplicate-processing', ...effect, detail: `effect applied ${count}×` });
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
    if (r.kind === 'duplicate-delivery' && !deadAt.has(key(r.service, r.messageId))) truth.push({ ...base, kind: r.kind });
  }
  // Stores and the injection log name the endpoint; anomalies name the service (and endpoint).
  return truth.map((t) => ({ ...t, service: serviceOfEndpoint(t.service) }));
}
