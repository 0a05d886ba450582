/**
 * Fourth step of the flow pipeline: the exactly-once ledger. One verdict per invariant of the
 * seed's TLA+ models, from the anomalies found and the evidence missing:
 *
 * - noDuplicateProcessing  violated by `duplicate-processing`; unknown when an endpoint's
 *                          attempt numbers have holes (a missing attempt may have processed
 *                          it too), an endpoint that received a message more than once
 *                          recorded no outcome (processed and skipped cannot be told apart),
 *                          or the endpoint's service lost a delivery span at export since
 *                          the first delivery, of this message or of one not named
 *                          (export-losses.ts).
 * - noGhost                violated by `ghost-message`; unknown when a would-be ghost's
 *                          committed producer may be missing (evidence-doubts.ts) or a
 *                          consumed message was sent by a service that records no outcomes.
 * - noLost                 violated by `lost-message`, `missed-delivery`, `stuck-outbox`;
 *                          unknown while the flow is within its quiet period, for a type with
 *                          no known subscriber, or when its consumer's spans may be missing.
 * - consistentOutput       violated by `inconsistent-output`, `logical-duplicate`; unknown when
 *                          a message sent more than once has sends without a body digest.
 *
 * A verdict is `violated` only on evidence seen; missing evidence gives `unknown` and why.
 * `uncommitted-side-effect`, `missing-payload` and `orphaned-payload` violate none of them: the
 * invariants are about messages, and those are about effects outside them (a third party's
 * execution, a blob store), so the flow shows them as anomalies only.
 */
import type { Anomaly, AnomalyKind, Invariant, InvariantVerdict, Ledger, Verdict } from '../model/flow.js';
import { isSuccess, producedByCommitted, producedByFailed, producerOf } from './conversation-model.js';
import type { AttemptModel, ConversationModel, MessageModel } from './conversation-types.js';
import { entryLossDoubt, ghostDoubt, lostDoubt, missingDeliveryEvidence, type Doubt } from './evidence-doubts.js';
import { missingAttemptNumbers } from './evidence-gaps.js';
import { stuckOutboxDoubt } from './commit-detectors.js';
import { missedSubscribers } from './delivery-detectors.js';
import { abridge, formatDuration, formatList, nameOf } from './format.js';
import { subscribersOf } from './subscriptions.js';

const VIOLATED_BY: Record<Invariant, AnomalyKind[]> = {
  noDuplicateProcessing: ['duplicate-processing'],
  noGhost: ['ghost-message'],
  noLost: ['lost-message', 'missed-delivery', 'stuck-outbox'],
  consistentOutput: ['inconsistent-output', 'logical-duplicate'],
};

const unique = (items: string[]) => [...new Set(items.filter(Boolean))];

/** The spans that prove an anomaly: the attempts and sends of its message it is about. */
function evidenceOf(model: ConversationModel, anomaly: Anomaly): string[] {
  const message = model.messagesById.get(anomaly.messageId);
  if (!message) return [];
  const sendIds = (sends = message.sends) => sends.map((s) => s.span.spanId);
  switch (anomaly.kind) {
    case 'duplicate-processing':
      return (message.endpoints.get(anomaly.endpoint) ?? []).filter((a) => a.outcome === 'processed').map((a) => a.span.spanId);
    case 'ghost-message': {
      const failedSends = message.sends.filter((s) => s.send.fromFailedAttempt);
      return [
        ...failedSends.flatMap((s) => [s.producer!.span.spanId, s.span.spanId]),
        ...message.listedBy.filter((a) => a.failed).map((a) => a.span.spanId),
        ...message.attempts.map((a) => a.span.spanId),
      ];
    }
    case 'lost-message':
    case 'stuck-outbox':
      return [...sendIds(), ...message.listedBy.filter((a) => !a.failed).map((a) => a.span.spanId)];
    case 'missed-delivery':
      return [...sendIds(), ...message.attempts.map((a) => a.span.spanId)];
    case 'inconsistent-output':
      return sendIds(message.sends.filter((s) => s.send.bodyDigest));
    default:
      return [...sendIds(), ...message.sends.flatMap((s) => (s.producer ? [s.producer.span.spanId] : []))];
  }
}

function judge(violations: { reason: string; evidence: string[] }[], doubts: Doubt[]): InvariantVerdict {
  const found = violations.length > 0 ? violations : doubts;
  if (found.length === 0) return { verdict: 'held', evidence: [], reason: '' };
  return {
    verdict: violations.length > 0 ? 'violated' : 'unknown',
    evidence: unique(found.flatMap((f) => f.evidence)),
    reason: abridge(unique(found.map((f) => f.reason)), 4).join('; '),
  };
}

function duplicateProcessingDoubts(model: ConversationModel): Doubt[] {
  const doubts: Doubt[] = [];
  for (const message of model.messages) {
    for (const [endpoint, attempts] of message.endpoints) {
      const name = nameOf(message.type, message.id);
      const missing = missingAttemptNumbers(attempts);
      if (missing.length > 0 && attempts.some(isSuccess)) {
        doubts.push({
          reason: `attempt${missing.length > 1 ? 's' : ''} ${formatList(missing)} of ${name} at ${endpoint} left no span: ${missing.length > 1 ? 'they' : 'it'} may have processed it too`,
          evidence: attempts.map((a) => a.span.spanId),
        });
      } else if (attempts.length > 1 && attempts.some((a) => a.outcome === '')) {
        doubts.push({
          reason: `${endpoint} received ${name} ${attempts.length}× without recording outcomes: a processing and a skipped duplicate cannot be told apart`,
          evidence: attempts.map((a) => a.span.spanId),
        });
      } else if (attempts.some(isSuccess)) {
        const lost = redeliveryLost(model, message, attempts);
        if (lost) doubts.push(lost);
      }
    }
  }
  return doubts;
}

/**
 * Delivery spans the endpoint's service lost at export since the message was first seen (its
 * send: a delivery before the one seen, say of a first publish, may be the lost one), named for
 * this message or not named: a second processing may be among them.
 */
function redeliveryLost(model: ConversationModel, message: MessageModel, attempts: AttemptModel[]): Doubt | null {
  const what = `a redelivery of ${nameOf(message.type, message.id)} processed at ${attempts[0].endpoint} may be among them`;
  const doubt = entryLossDoubt(model, new Set([attempts[0].service]), Math.min(message.firstMs, attempts[0].startMs), what, message.id);
  return doubt && { ...doubt, evidence: attempts.map((a) => a.span.spanId) };
}

function ghostDoubts(model: ConversationModel): Doubt[] {
  const doubts: Doubt[] = [];
  for (const message of model.messages) {
    if (message.attempts.length === 0) continue;
    if (producedByFailed(message) && !producedByCommitted(message)) {
      const producer = message.sends.find((s) => s.send.fromFailedAttempt)?.producer ?? message.listedBy.find((a) => a.failed)!;
      const doubt = ghostDoubt(model, producer);
      if (doubt) doubts.push(doubt);
      continue;
    }
    const blind = message.sends.find((s) => s.producer && !s.resend && model.gaps.outcomelessServices.has(s.producer.service));
    if (blind) {
      doubts.push({
        reason: `${blind.producer!.service} records no outcomes: whether the attempt that sent ${nameOf(message.type, message.id)} committed is not known`,
        evidence: [blind.producer!.span.spanId, blind.span.spanId],
      });
    }
  }
  return doubts;
}

function lostDoubts(model: ConversationModel): Doubt[] {
  if (model.active) {
    // Messages may still be delivered (their quiet period adapts to their type's latency).
    return [
      { reason: `the flow is still within its quiet period (judged in ${formatDuration(model.quietUntilMs - model.now)})`, evidence: [] },
    ];
  }
  const doubts: Doubt[] = [];
  for (const message of model.messages) {
    if (!producedByCommitted(message)) continue;
    const doubt =
      message.attempts.length === 0
        ? (stuckOutboxDoubt(model, message) ?? lostDoubt(model, message, producerOfSends(message)))
        : missedDeliveryDoubt(model, message);
    if (doubt) doubts.push(doubt);
  }
  return doubts;
}

/** A delivered message that missed a usual subscriber while spans that may be that delivery are missing. */
function missedDeliveryDoubt(model: ConversationModel, message: MessageModel): Doubt | null {
  if (!model.subscriptions) return null;
  const { usual } = subscribersOf(model.subscriptions, producerOf(message), message.type);
  const missed = missedSubscribers(message, usual);
  return missed.length > 0 ? missingDeliveryEvidence(model, message, new Set(missed.map(([, service]) => service))) : null;
}

/** The producing service lost-message judgement uses: the first committed send's, else the lister's. */
function producerOfSends(message: MessageModel): string {
  const send = message.sends.find((s) => !s.resend && !s.send.fromFailedAttempt);
  return send?.send.service ?? message.listedBy.find((a) => !a.failed)?.service ?? '';
}

function outputDoubts(model: ConversationModel): Doubt[] {
  const doubts: Doubt[] = [];
  for (const message of model.messages) {
    if (message.sends.length < 2) continue;
    const undigested = message.sends.filter((s) => !s.send.bodyDigest);
    if (undigested.length === 0) continue;
    doubts.push({
      reason: `${nameOf(message.type, message.id)} was sent ${message.sends.length}× and ${undigested.length} of the sends carry no body digest: their content cannot be compared`,
      evidence: undigested.map((s) => s.span.spanId),
    });
  }
  return doubts;
}

const DOUBTS: Record<Invariant, (model: ConversationModel) => Doubt[]> = {
  noDuplicateProcessing: duplicateProcessingDoubts,
  noGhost: ghostDoubts,
  noLost: lostDoubts,
  consistentOutput: outputDoubts,
};

/** The ledger of an analysed conversation. */
export function buildLedger(model: ConversationModel, anomalies: Anomaly[]): Ledger {
  const verdictOf = (invariant: Invariant): InvariantVerdict => {
    const violations = anomalies
      .filter((a) => VIOLATED_BY[invariant].includes(a.kind))
      .map((a) => ({ reason: `${a.kind}: ${a.detail}`, evidence: evidenceOf(model, a) }));
    return judge(violations, violations.length > 0 ? [] : DOUBTS[invariant](model));
  };
  return {
    noDuplicateProcessing: verdictOf('noDuplicateProcessing'),
    noGhost: verdictOf('noGhost'),
    noLost: verdictOf('noLost'),
    consistentOutput: verdictOf('consistentOutput'),
  };
}

/** `violated` if any invariant is, else `unknown` if any is, else `held`. */
export function overallVerdict(ledger: Ledger): Verdict {
  const verdicts = Object.values(ledger).map((v) => v.verdict);
  if (verdicts.includes('violated')) return 'violated';
  return verdicts.includes('unknown') ? 'unknown' : 'held';
}
