/**
 * Detectors of messages that did not reach an endpoint they should have reached, judged once
 * the flow is quiet (each message's quiet period adapts to its type's delivery latency):
 *
 * - lost-message     produced by a committed attempt or at the boundary (a send, or a
 *                    committed attempt's outgoing id without a commit marker) and never
 *                    delivered to any endpoint. error. Not reported when no subscriber of the
 *                    type is known, or when spans that may be its consumer's are missing
 *                    (the ledger says `unknown`). An outgoing id of an attempt with a commit
 *                    marker that was never sent is a `stuck-outbox` instead.
 * - missed-delivery  delivered, but not to every usual subscriber of its type from its
 *                    producer (learned fan-out, see subscriptions.ts). error, one per missed
 *                    subscriber. Not reported while spans that may be the delivery are missing.
 */
import type { Anomaly } from '../model/flow.js';
import { anomaly, attemptLabel, concernedAttempt, concernedService, type Detector } from './anomaly-builder.js';
import { producedByCommitted, producerOf } from './conversation-model.js';
import type { MessageModel } from './conversation-types.js';
import { lostDoubt, missingDeliveryEvidence } from './evidence-doubts.js';
import { formatDuration, formatList, nameOf } from './format.js';
import { derivedEndpoint } from './span-markers.js';
import { subscribersOf } from './subscriptions.js';

export const detectLostMessages: Detector = (model) => {
  if (model.active) return [];
  const found: Anomaly[] = [];
  const quiet = formatDuration(model.quietPeriodMs);
  for (const message of model.messages) {
    if (message.attempts.length > 0 || !producedByCommitted(message)) continue;
    // Sent at the boundary, or by an attempt that recorded its outcome: an attempt without one
    // (an outcome-less service) may have rolled back, and then nothing was due. A send with a
    // causation id but no attempt above it was made by an attempt the flow cannot see.
    const send = message.sends.find(
      (s) => !s.resend && !s.send.fromFailedAttempt && (s.producer === null ? s.span.causationId === '' : s.producer.outcome !== ''),
    );
    const lister = message.listedBy.find((a) => !a.failed);
    if (!send && !lister) continue;
    if (!send && lister && lister.committedAtMs !== null) continue;
    if (lostDoubt(model, message, send?.send.service ?? lister!.service)) continue;
    const name = nameOf(message.type, message.id);
    if (send) {
      const to = send.send.destination ? ` to ${send.send.destination}` : '';
      const who = send.producer ? concernedAttempt(send.producer) : concernedService(send.send.service);
      const detail = `${name} sent by ${send.send.service}${to} was never delivered to any consumer (quiet period ${quiet} passed): check the queue, its bindings and the consumer`;
      found.push(anomaly(model, 'lost-message', 'error', message, who, send.send.startMs, detail));
    } else {
      const detail = `${name} recorded as outgoing by ${lister!.service} (committed ${attemptLabel(lister!)}) was never sent or delivered (quiet period ${quiet} passed): the outbox was not dispatched`;
      found.push(anomaly(model, 'lost-message', 'error', message, concernedAttempt(lister!), lister!.endMs, detail));
    }
  }
  return found;
};

/** Usual subscribers (endpoint → service) of the message's type from its producer that it never reached. */
export function missedSubscribers(message: MessageModel, usual: ReadonlyMap<string, string>): [string, string][] {
  const reached = new Set(message.attempts.map((a) => derivedEndpoint(a.service, a.delivery.destination)));
  const reachedWithoutDestination = new Set(message.attempts.filter((a) => !a.delivery.destination).map((a) => a.service));
  return [...usual].filter(([endpoint, service]) => !reached.has(endpoint) && !reachedWithoutDestination.has(service));
}

export const detectMissedDeliveries: Detector = (model) => {
  if (model.active || !model.subscriptions) return [];
  const found: Anomaly[] = [];
  for (const message of model.messages) {
    if (message.attempts.length === 0 || !producedByCommitted(message)) continue;
    const producer = producerOf(message);
    const missed = missedSubscribers(message, subscribersOf(model.subscriptions, producer, message.type).usual);
    if (missed.length === 0 || missingDeliveryEvidence(model, message, new Set(missed.map(([, service]) => service)))) continue;
    const reached = formatList([...message.endpoints.keys()]);
    for (const [endpoint, service] of missed) {
      found.push(
        anomaly(
          model,
          'missed-delivery',
          'error',
          message,
          { service, endpoint },
          message.sentAtMs ?? message.firstMs,
          `${nameOf(message.type, message.id)} from ${producer} reached ${reached} but never ${endpoint}, which usually consumes ${message.type} from ${producer}: check its subscription (binding) and consumer`,
        ),
      );
    }
  }
  return found;
};
