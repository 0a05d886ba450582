/**
 * Would-be findings checked against missing evidence. Each function answers "could the
 * evidence that clears this finding be among what is missing?" with the reason (and the spans
 * it concerns), or null when the evidence is complete. Detectors then report nothing, and the
 * ledger says `unknown` with the reason: never a fault that cannot be seen.
 */
import type { AttemptModel, ConversationModel, MessageModel } from './conversation-types.js';
import { missingAttemptNumbers } from './evidence-gaps.js';
import { describeLosses, lossesDuring } from './export-losses.js';
import { formatList, nameOf } from './format.js';
import { subscribersOf } from './subscriptions.js';

export interface Doubt {
  reason: string;
  /** Span ids the doubt concerns (the spans whose parent never arrived, the attempt waiting for a retry). */
  evidence: string[];
}

const orphanIds = (spans: { spanId: string }[]) => spans.map((s) => s.spanId);

/** Every span of the conversation whose parent never arrived. */
export function anyMissingSpans(model: ConversationModel): Doubt | null {
  const traces = [...model.gaps.orphansByTrace.keys()];
  if (traces.length === 0) return null;
  const orphans = [...model.gaps.orphansByTrace.values()].flat();
  return {
    reason: `spans missing from trace${traces.length > 1 ? 's' : ''} ${formatList(traces)} (a parent span never arrived)`,
    evidence: orphanIds(orphans),
  };
}

/**
 * Spans whose parent never arrived and that may be the message's missing consumer or its
 * children: in a trace of one of its sends, or carrying its id as message or causation id.
 */
function missingConsumerSpans(model: ConversationModel, message: MessageModel): Doubt | null {
  const { orphansByTrace, orphansByMessage } = model.gaps;
  if (orphansByTrace.size === 0) return null;
  const sendTraces = new Set(message.sends.map((s) => s.span.traceId));
  const related = [
    ...new Set([...[...sendTraces].flatMap((traceId) => orphansByTrace.get(traceId) ?? []), ...(orphansByMessage.get(message.id) ?? [])]),
  ];
  if (related.length === 0) return null;
  const traces = [...new Set(related.map((s) => s.traceId))];
  return {
    reason: `spans missing from trace ${formatList(traces)} (a parent span never arrived): its consumer's span may be among them`,
    evidence: orphanIds(related),
  };
}

/**
 * Spans lost at export (holes in their export streams, learned outside the flow) by `services`
 * (any service when null) from `fromMs` until `toMs`, by default until the flow is judged: `what`
 * may be among them. The window ends now, not at a quiet deadline: a delivery or redelivery later
 * than the quiet period whose span was dropped would otherwise leave a verdict of `held` (or
 * `lost`) standing.
 */
export function exportLossDoubt(
  model: ConversationModel,
  services: ReadonlySet<string> | null,
  fromMs: number,
  what: string,
  toMs = model.now,
): Doubt | null {
  const losses = lossesDuring(model.exportLosses, services, fromMs, toMs);
  if (losses.length === 0) return null;
  return { reason: `spans lost at export by ${describeLosses(losses)} in that time (gaps in their span numbers): ${what}`, evidence: [] };
}

/**
 * Entry spans (deliveries, served requests) lost at export by `services` (any service when
 * null) from `fromMs` until the
 * flow is judged: `what` may be among them. With `messageId`, only the lost entries named for
 * that message or not named at all (export-losses.ts): a lost delivery of another message is
 * not this one's. Holes of client and internal spans alone hide no delivery.
 */
export function entryLossDoubt(
  model: ConversationModel,
  services: ReadonlySet<string> | null,
  fromMs: number,
  what: string,
  messageId?: string,
): Doubt | null {
  const losses = lossesDuring(model.entryLosses, services, fromMs, model.now).filter(
    (loss) => messageId === undefined || loss.messageId === null || loss.messageId === messageId,
  );
  if (losses.length === 0) return null;
  if (messageId !== undefined && losses.every((loss) => loss.messageId === messageId)) {
    const by = formatList([...new Set(losses.map((loss) => loss.service))]);
    return {
      reason: `a delivery span of this message was lost at export by ${by} (named by the delivery after it): ${what}`,
      evidence: [],
    };
  }
  return {
    reason: `delivery spans lost at export by ${describeLosses(losses)} in that time (gaps in their numbers): ${what}`,
    evidence: [],
  };
}

/**
 * Evidence that a delivery of the message may have happened out of sight: spans that may be
 * its consumer's (above), else spans missing anywhere in the flow, else spans its possible
 * consumers (`consumers`; any service when null) lost at export since its send: delivery
 * spans of any message, for one of them may be a slow handler this one waits behind. A consumer
 * span that ends its branch (no children) leaves no orphan when it is dropped: only the flow's
 * other orphans or the consumers' export streams can show the loss.
 */
export function missingDeliveryEvidence(
  model: ConversationModel,
  message: MessageModel,
  consumers: ReadonlySet<string> | null,
): Doubt | null {
  const related = missingConsumerSpans(model, message);
  if (related) return related;
  const elsewhere = anyMissingSpans(model);
  if (elsewhere) {
    return {
      reason: `${elsewhere.reason}: this flow's telemetry loses spans, and a consumer span of ${nameOf(message.type, message.id)} that had no children would leave no trace`,
      evidence: elsewhere.evidence,
    };
  }
  const sentMs = message.sentAtMs ?? message.firstMs;
  // A quiet period before the send too: a handler that started then and is still running (its
  // span is exported when it ends, a hole until then) holds the consumer the message waits for.
  const what = `a consumer span of ${nameOf(message.type, message.id)}, or a slow handler it waits behind, may be among them`;
  return (
    entryLossDoubt(model, consumers, sentMs - model.quietPeriodMs, what) ??
    silentConsumers(model, message, consumers, sentMs) ??
    unnumberedConsumers(model, message, consumers)
  );
}

/**
 * Possible consumers whose spans carry no export numbers (plain OpenTelemetry, NServiceBus, a
 * service without Onceflow's span processor): a consumer span of theirs dropped by sampling or
 * a failed export, with no children to orphan, leaves no trace at all, so their silence is no
 * proof that the message was never delivered.
 */
function unnumberedConsumers(model: ConversationModel, message: MessageModel, consumers: ReadonlySet<string> | null): Doubt | null {
  if (!consumers) return null;
  const unnumbered = [...consumers].filter((service) => !model.exportedUntil.has(service));
  if (unnumbered.length === 0) return null;
  return {
    reason: `${formatList(unnumbered)} ${unnumbered.length > 1 ? 'have' : 'has'} no numbered spans (no Onceflow span processor, or none exported lately): a consumer span of ${nameOf(message.type, message.id)} dropped before reaching Onceflow would leave no trace`,
    evidence: message.sends.map((s) => s.span.spanId),
  };
}

/**
 * Possible consumers whose export stream has nothing that started after the message was sent:
 * a consumer busy with a handler slower than the quiet period (its span is exported when it
 * ends), stalled or down cannot show that it never received the message.
 */
function silentConsumers(
  model: ConversationModel,
  message: MessageModel,
  consumers: ReadonlySet<string> | null,
  fromMs: number,
): Doubt | null {
  if (!consumers) return null;
  const silent = [...consumers].filter((service) => {
    const until = model.exportedUntil.get(service);
    return until !== undefined && until < fromMs;
  });
  if (silent.length === 0) return null;
  return {
    reason: `${formatList(silent)} exported no span that started after ${nameOf(message.type, message.id)} was sent (busy with a slow handler, stalled or down): it may still be processing it`,
    evidence: message.sends.map((s) => s.span.spanId),
  };
}

/** A lost (never delivered) message, once the flow is quiet: no known subscriber, or a consumer span that may be missing. */
export function lostDoubt(model: ConversationModel, message: MessageModel, producer: string): Doubt | null {
  // A message never sent (only listed as outgoing) is lost whoever subscribes: commit without dispatch.
  if (message.sends.length > 0 && model.subscriptions && subscribersOf(model.subscriptions, producer, message.type).known.size === 0) {
    return {
      reason: `no known subscriber of ${message.type || 'untyped messages'} from ${producer || 'its producer'} (not consumed by any instrumented endpoint in the learning window)`,
      evidence: message.sends.map((s) => s.span.spanId),
    };
  }
  const known = model.subscriptions ? subscribersOf(model.subscriptions, producer, message.type).known : undefined;
  return missingDeliveryEvidence(model, message, known && known.size > 0 ? new Set(known.values()) : null);
}

/**
 * A message only a failed attempt produced, yet consumed: a committed attempt of the same
 * message may still re-send it (a scheduled retry), or may be among the missing spans.
 */
export function ghostDoubt(model: ConversationModel, producer: AttemptModel): Doubt | null {
  const producing = model.messagesById.get(producer.messageId);
  const attempts = producing?.endpoints.get(producer.endpoint) ?? [];
  const name = nameOf(producer.messageType, producer.messageId);
  const last = attempts[attempts.length - 1];
  if (producing && last?.effective === 'retry_scheduled' && model.now < producing.quietUntilMs) {
    return {
      reason: `a retry of ${name} at ${producer.endpoint} is scheduled and may still commit and re-send it`,
      evidence: [last.span.spanId],
    };
  }
  return missingCommitDoubt(model, producer);
}

/**
 * An attempt that did not commit, judged as if no attempt of its message at its endpoint
 * committed: one may have, among the attempts that left no span (holes in the attempt
 * numbers) or the spans whose parent never arrived.
 */
export function missingCommitDoubt(model: ConversationModel, failed: AttemptModel): Doubt | null {
  const attempts = model.messagesById.get(failed.messageId)?.endpoints.get(failed.endpoint) ?? [];
  const missing = missingAttemptNumbers(attempts);
  if (missing.length > 0) {
    return {
      reason: `attempt${missing.length > 1 ? 's' : ''} ${formatList(missing)} of ${nameOf(failed.messageType, failed.messageId)} at ${failed.endpoint} left no span: one may have committed`,
      evidence: attempts.map((a) => a.span.spanId),
    };
  }
  return anyMissingSpans(model) ?? laterAttemptLost(model, attempts);
}

/**
 * A committing attempt lost at export leaves a hole in the attempt numbers (above) unless it
 * was the last. So only where the last attempt seen expects another (failed or a retry
 * scheduled, not dead-lettered) do the service's export losses since it started count: the
 * attempt that committed may be among them. Losses elsewhere in its stream do not (they are
 * common where spans are cut short by crashes, while the attempts judged are seen whole).
 */
function laterAttemptLost(model: ConversationModel, attempts: AttemptModel[]): Doubt | null {
  const last = attempts[attempts.length - 1];
  if (!last || (last.effective !== 'failed' && last.effective !== 'retry_scheduled')) return null;
  const name = nameOf(last.messageType, last.messageId);
  const what = `a later attempt of ${name} at ${last.endpoint}, which may have committed, may be among them`;
  const doubt = entryLossDoubt(model, new Set([last.service]), last.startMs, what, last.messageId);
  return doubt && { ...doubt, evidence: attempts.map((a) => a.span.spanId) };
}
