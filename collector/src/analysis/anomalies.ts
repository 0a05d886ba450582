/**
 * Third step of the flow pipeline: judge the indexed conversation. One small detector per
 * anomaly kind, each a pure function of the model; `detectAnomalies` runs them all and flags
 * the messages they concern. Rules follow DESIGN.md "What the analysis must tell apart":
 *
 * - duplicate-delivery  an endpoint received a message again after it had been processed (or
 *                       skipped it as a duplicate). info when healthy: exactly one `processed`,
 *                       the extra deliveries all `duplicate`; warning otherwise. Failed attempts
 *                       before the first success are a retry, not duplicates.
 * - duplicate-processing two or more recorded `processed` outcomes at one endpoint. error.
 *                       Also a keyless HTTP request executed twice (see http-calls.ts).
 * - retry               failed attempts before a success. warning. Attempts that never
 *                       succeeded are not a retry (dead letter or failing). A success on
 *                       attempt > 1 with no earlier span is not judged: the earlier attempt may
 *                       have processed it too (the ledger says `unknown`).
 * - dead-letter         an attempt with outcome `dead_lettered`. error. Never also lost.
 * - ghost-message       delivered, but only attempts that did not commit produced it (a send
 *                       under a failed attempt, or listed as outgoing by one). error. A message
 *                       re-sent with the same id by the committed retry is not a ghost. Not
 *                       reported while a committed attempt may be missing (evidence-doubts.ts).
 * - lost-message, missed-delivery: see delivery-detectors.ts.
 * - premature-publish, stuck-outbox: see commit-detectors.ts.
 * - inconsistent-output: see output-detectors.ts.
 * - uncommitted-side-effect: see uncommitted-side-effects.ts.
 * - missing-payload, orphaned-payload: see payload-detectors.ts.
 * - offload             the payload went to a blob store; says whether a consumer read it. info.
 * - logical-duplicate   same producer, type and causation id, different message ids, produced
 *                       by different attempts (non-deterministic ids). error.
 * - out-of-order        per business key and endpoint, a message processed before one sent
 *                       earlier. warning: at-least-once delivery with retries and competing
 *                       consumers reorders by design; it is a bug only when the handler assumes
 *                       order, which the telemetry cannot tell.
 */
import type { Anomaly, AnomalyKind, Severity } from '../model/flow.js';
import {
  anomaly,
  attemptLabel,
  attemptNumbers,
  concernedAttempt,
  concernedService,
  endpointAttempts,
  type Detector,
} from './anomaly-builder.js';
import { detectPrematurePublishes, detectStuckOutboxes } from './commit-detectors.js';
import {
  isSuccess,
  producedByCommitted,
  producerOf,
  producedByFailed,
  type AttemptModel,
  type ConversationModel,
  type MessageModel,
} from './conversation-model.js';
import { detectLostMessages, detectMissedDeliveries } from './delivery-detectors.js';
import { ghostDoubt } from './evidence-doubts.js';
import { abridge, formatBytes, formatDuration, formatList, nameOf, quote } from './format.js';
import { detectRepeatedHttpExecutions } from './http-calls.js';
import { detectInconsistentOutputs } from './output-detectors.js';
import { detectMissingPayloads, detectOrphanedPayloads } from './payload-detectors.js';
import { detectUncommittedSideEffects } from './uncommitted-side-effects.js';

export type { Detector } from './anomaly-builder.js';
export { detectLostMessages, detectMissedDeliveries } from './delivery-detectors.js';
export { detectPrematurePublishes, detectStuckOutboxes } from './commit-detectors.js';
export { detectInconsistentOutputs } from './output-detectors.js';
export { detectMissingPayloads, detectOrphanedPayloads } from './payload-detectors.js';
export { detectUncommittedSideEffects } from './uncommitted-side-effects.js';

/** The endpoint recorded no outcome on any attempt: it tells deliveries, not what they did. */
const recordsNoOutcomes = (attempts: AttemptModel[]) => attempts.every((a) => a.outcome === '');

export const detectDuplicateDeliveries: Detector = (model) => {
  const found: Anomaly[] = [];
  for (const [message, endpoint, attempts] of endpointAttempts(model)) {
    const service = attempts[0].service;
    if (recordsNoOutcomes(attempts)) {
      // Several deliveries are a fact; whether more than one was processed is not visible.
      if (attempts.length < 2) continue;
      const apart = formatDuration(attempts[attempts.length - 1].startMs - attempts[0].startMs);
      found.push(
        anomaly(
          model,
          'duplicate-delivery',
          'warning',
          message,
          { service, endpoint },
          attempts[1].startMs,
          `${nameOf(message.type, message.id)} delivered ${attempts.length}× to ${service} (${apart} apart); ${service} records no outcomes, so whether it was processed more than once is unknown`,
        ),
      );
      continue;
    }
    const firstSuccess = attempts.findIndex(isSuccess);
    const extra = attempts.filter((a, i) => a.outcome === 'duplicate' || (firstSuccess >= 0 && i > firstSuccess));
    if (extra.length === 0) continue;
    const processed = attempts.filter((a) => a.outcome === 'processed').length;
    const healthy = processed <= 1 && extra.every((a) => a.outcome === 'duplicate');
    const span = formatDuration(extra[extra.length - 1].startMs - attempts[0].startMs);
    const verdict = healthy
      ? `attempt${extra.length > 1 ? 's' : ''} ${attemptNumbers(extra)} skipped as duplicate: deduplication worked`
      : `not all redeliveries were skipped as duplicates (outcomes: ${extra.map((a) => a.outcome || 'none').join(', ')}): check deduplication`;
    found.push(
      anomaly(
        model,
        'duplicate-delivery',
        healthy ? 'info' : 'warning',
        message,
        { service, endpoint },
        extra[0].startMs,
        `${nameOf(message.type, message.id)} delivered ${attempts.length}× to ${service} (attempts ${attemptNumbers(attempts)}, ${span} apart); ${verdict}`,
      ),
    );
  }
  return found;
};

export const detectDuplicateProcessing: Detector = (model) => {
  const found: Anomaly[] = [];
  for (const [message, endpoint, attempts] of endpointAttempts(model)) {
    const service = attempts[0].service;
    const processed = attempts.filter((a) => a.outcome === 'processed');
    if (processed.length < 2) continue;
    const apart = formatDuration(processed[processed.length - 1].startMs - processed[0].startMs);
    found.push(
      anomaly(
        model,
        'duplicate-processing',
        'error',
        message,
        { service, endpoint },
        processed[1].startMs,
        `${nameOf(message.type, message.id)} processed ${processed.length}× by ${service} (attempts ${attemptNumbers(processed)}, ${apart} apart): inbox deduplication did not catch the redelivery`,
      ),
    );
  }
  return found;
};

function describeAttempt(attempt: AttemptModel): string {
  let text = `#${attempt.attempt || '?'} ${attempt.outcome || attempt.effective}`;
  if (attempt.error) text += ` ${quote(attempt.error, 60)}`;
  if (attempt.retryDelayMs !== null) text += ` (retry in ${formatDuration(attempt.retryDelayMs)})`;
  return text;
}

export const detectRetries: Detector = (model) => {
  const found: Anomaly[] = [];
  for (const [message, endpoint, attempts] of endpointAttempts(model)) {
    const service = attempts[0].service;
    const firstSuccess = attempts.findIndex(isSuccess);
    if (firstSuccess < 0) continue;
    const success = attempts[firstSuccess];
    const failures = attempts.slice(0, firstSuccess).filter((a) => a.failed);
    // A success on attempt > 1 with no failed attempt seen: the earlier one left no span, and
    // may have processed the message as well. The ledger says unknown; no retry is claimed.
    if (failures.length === 0) continue;
    const name = nameOf(message.type, message.id);
    const detail = `${name} succeeded at ${service} on attempt ${success.attempt || firstSuccess + 1} after ${failures.length} failed: ${abridge(
      attempts.slice(0, firstSuccess + 1).map(describeAttempt),
    ).join(' → ')}`;
    found.push(anomaly(model, 'retry', 'warning', message, { service, endpoint }, success.startMs, detail));
  }
  return found;
};

export const detectDeadLetters: Detector = (model) => {
  const found: Anomaly[] = [];
  for (const [message, endpoint, attempts] of endpointAttempts(model)) {
    const service = attempts[0].service;
    const index = attempts.findIndex((a) => a.effective === 'dead_lettered');
    if (index < 0) continue;
    const dead = attempts[index];
    const lastError = attempts
      .slice(0, index + 1)
      .map((a) => a.error)
      .filter(Boolean)
      .pop();
    const tries = Math.max(dead.attempt, index + 1);
    found.push(
      anomaly(
        model,
        'dead-letter',
        'error',
        message,
        { service, endpoint },
        dead.startMs,
        `${nameOf(message.type, message.id)} dead-lettered by ${service} after ${tries} attempt${tries > 1 ? 's' : ''}${
          lastError ? ` (last error: ${quote(lastError, 60)})` : ''
        }: fix the cause, then replay it from the dead-letter queue`,
      ),
    );
  }
  return found;
};

export const detectGhostMessages: Detector = (model) => {
  const found: Anomaly[] = [];
  for (const message of model.messages) {
    if (message.attempts.length === 0 || !producedByFailed(message) || producedByCommitted(message)) continue;
    // Only a recorded failing outcome says the attempt did not commit; an error status alone
    // (an outcome-less service) may come after the commit: not visible, so not claimed.
    const send = message.sends.find((s) => s.send.fromFailedAttempt && s.producer!.outcome !== '');
    const producer = send?.producer ?? message.listedBy.find((a) => a.failed && a.outcome !== '');
    if (!producer || ghostDoubt(model, producer)) continue;
    const consumers = formatList([...new Set(message.attempts.map((a) => a.service))]);
    const cause = attemptLabel(producer);
    const why = producer.error ? `${producer.outcome || 'failed'}: ${quote(producer.error, 50)}` : producer.outcome || 'failed';
    found.push(
      anomaly(
        model,
        'ghost-message',
        'error',
        message,
        concernedAttempt(producer),
        send?.send.startMs ?? producer.endMs,
        `${nameOf(message.type, message.id)} was ${send ? 'sent' : 'recorded as outgoing'} by ${producer.service} while processing ${cause}, which did not commit (${why}), yet ${consumers} consumed it: publish only after commit (outbox)`,
      ),
    );
  }
  return found;
};

export const detectOffloads: Detector = (model) => {
  const found: Anomaly[] = [];
  for (const message of model.messages) {
    if (!message.payloadOffloaded) continue;
    const producer = producerOf(message);
    // The producer's span may be missing (not instrumented): the anomaly then concerns its first consumer.
    const service = producer || [...message.endpoints.keys()][0] || '';
    const size = message.payloadBytes > 0 ? `${formatBytes(message.payloadBytes)}, ` : '';
    const where = `${size}ref ${message.payloadRef || 'unknown'}`;
    const read =
      message.fetchedBy.size > 0
        ? `read back by ${[...message.fetchedBy].sort().join(', ')}`
        : message.attempts.length > 0
          ? `never read by any consumer of the delivered message: the blob may be orphaned, or the consumer skips the body`
          : 'not delivered yet';
    found.push(
      anomaly(
        model,
        'offload',
        'info',
        message,
        concernedService(service),
        message.sentAtMs ?? message.firstMs,
        `${nameOf(message.type, message.id)} payload offloaded${producer ? ` by ${producer}` : ''} (${where}); ${read}`,
      ),
    );
  }
  return found;
};

/** Span ids of the attempts that produced a message (sends and outgoing listings). */
function producingAttempts(message: MessageModel): Map<string, AttemptModel> {
  const producers = new Map<string, AttemptModel>();
  for (const send of message.sends) {
    if (send.producer && !send.resend) producers.set(send.producer.span.spanId, send.producer);
  }
  for (const attempt of message.listedBy) producers.set(attempt.span.spanId, attempt);
  return producers;
}

export const detectLogicalDuplicates: Detector = (model) => {
  const groups = new Map<string, { message: MessageModel; producers: Map<string, AttemptModel> }[]>();
  for (const message of model.messages) {
    if (!message.causationId) continue;
    const producers = producingAttempts(message);
    if (producers.size === 0) continue;
    const key = `${producerOf(message)}\u0000${message.type}\u0000${message.causationId}`;
    const group = groups.get(key);
    if (group) group.push({ message, producers });
    else groups.set(key, [{ message, producers }]);
  }
  const found: Anomaly[] = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    // The first produced message is the original; others from different attempts are copies.
    const [original, ...rest] = group;
    for (const copy of rest) {
      if ([...copy.producers.keys()].some((id) => original.producers.has(id))) continue;
      const first = [...original.producers.values()][0];
      const again = [...copy.producers.values()][0];
      const name = nameOf(copy.message.type, copy.message.id);
      found.push(
        anomaly(
          model,
          'logical-duplicate',
          'error',
          copy.message,
          concernedAttempt(again),
          copy.message.sentAtMs ?? copy.message.firstMs,
          `${name} produced again by ${again.service} for ${nameOf(first.messageType, copy.message.causationId)} ${copy.message.causationId} with a new id (${original.message.id} by attempt ${first.attempt || '?'}, ${copy.message.id} by attempt ${again.attempt || '?'}): derive outgoing ids from the incoming message id so receivers can deduplicate`,
        ),
      );
    }
  }
  return found;
};

export const detectOutOfOrder: Detector = (model) => {
  interface Entry {
    message: MessageModel;
    sentMs: number;
    processedMs: number;
  }
  const groups = new Map<string, { businessKey: string; service: string; endpoint: string; entries: Entry[] }>();
  for (const message of model.messages) {
    if (!message.businessKey || message.sentAtMs === null) continue;
    // Per service, not per endpoint: the handlers of one service share its state, whichever queue fed them.
    for (const [endpoint, attempts] of message.endpoints) {
      const success = attempts.find(isSuccess);
      if (!success) continue;
      const key = `${message.businessKey}\u0000${success.service}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { businessKey: message.businessKey, service: success.service, endpoint, entries: [] }));
      group.entries.push({ message, sentMs: message.sentAtMs, processedMs: success.startMs });
    }
  }
  const found: Anomaly[] = [];
  for (const { businessKey, service, endpoint, entries } of groups.values()) {
    if (entries.length < 2) continue;
    entries.sort((a, b) => a.sentMs - b.sentMs || a.processedMs - b.processedMs);
    // Walking in send order, an entry processed before the latest-processed earlier-sent entry overtook it.
    let latest: Entry | null = null;
    for (const entry of entries) {
      if (latest && latest.sentMs < entry.sentMs && latest.processedMs > entry.processedMs) {
        found.push(
          anomaly(
            model,
            'out-of-order',
            'warning',
            entry.message,
            { service, endpoint },
            entry.processedMs,
            `${nameOf(entry.message.type, entry.message.id)} was processed by ${service} ${formatDuration(latest.processedMs - entry.processedMs)} before ${nameOf(latest.message.type, latest.message.id)}, which was sent ${formatDuration(entry.sentMs - latest.sentMs)} earlier (business key ${businessKey}): the handler must not assume order`,
          ),
        );
      }
      if (!latest || entry.processedMs > latest.processedMs) latest = entry;
    }
  }
  return found;
};

export const DETECTORS: Record<AnomalyKind, Detector> = {
  'duplicate-delivery': detectDuplicateDeliveries,
  'duplicate-processing': (model) => [...detectDuplicateProcessing(model), ...detectRepeatedHttpExecutions(model)],
  retry: detectRetries,
  'dead-letter': detectDeadLetters,
  'ghost-message': detectGhostMessages,
  'lost-message': detectLostMessages,
  offload: detectOffloads,
  'logical-duplicate': detectLogicalDuplicates,
  'out-of-order': detectOutOfOrder,
  'missed-delivery': detectMissedDeliveries,
  'premature-publish': detectPrematurePublishes,
  'stuck-outbox': detectStuckOutboxes,
  'inconsistent-output': detectInconsistentOutputs,
  'uncommitted-side-effect': detectUncommittedSideEffects,
  'missing-payload': detectMissingPayloads,
  'orphaned-payload': detectOrphanedPayloads,
};

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

export function worstSeverity(anomalies: Anomaly[]): Severity | null {
  let worst: Severity | null = null;
  for (const a of anomalies) if (worst === null || SEVERITY_RANK[a.severity] > SEVERITY_RANK[worst]) worst = a.severity;
  return worst;
}

/**
 * Every anomaly of the conversation in time order (its detectors' and `found`, those found
 * across flows); flags the messages they concern.
 */
export function detectAnomalies(model: ConversationModel, found: readonly Anomaly[] = []): Anomaly[] {
  const anomalies: Anomaly[] = [...found];
  for (const detect of Object.values(DETECTORS)) for (const a of detect(model)) anomalies.push(a);
  anomalies.sort((a, b) => a.timeMs - b.timeMs || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  for (const a of anomalies) model.messagesById.get(a.messageId)?.flags.add(a.kind);
  return anomalies;
}
