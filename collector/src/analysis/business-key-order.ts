/**
 * Ordering per business key (issue 11): the spans of one `onceflow.business_key` across
 * conversations (`SpanStore.spansOfBusinessKeys`) in, the messages each endpoint processed out of
 * send order out. Pure: the flow analysis asks for it when a flow carries business keys.
 *
 * A message counts when its send and a `processed` attempt are both seen: a message whose send
 * is missing cannot be placed, so it is left out (never a fault on missing evidence). At each
 * endpoint (service and the queue it consumed from) every message is placed by its earliest send
 * and its first processing; a message processed after one sent later is out of order.
 */
import { isAttemptSpan, isSend, startMsOf } from '../model/span-roles.js';
import type { SpanRow } from '../model/span.js';

export interface OrderViolation {
  businessKey: string;
  /** `service/destination` of the consuming attempts (the service alone without a destination). */
  endpoint: string;
  /** The message processed late: sent before `overtakenBy`, processed after it. */
  messageId: string;
  messageType: string;
  conversationId: string;
  /** Service of the consuming attempts. */
  service: string;
  overtakenBy: string;
  /** Conversation of the overtaking message's processing. */
  overtakenByConversationId: string;
  /** Start of the late message's first processing, epoch ms. */
  timeMs: number;
  /** Span ids: the late processing, then the overtaking one. */
  evidence: [string, string];
}

interface Placed {
  messageId: string;
  sentNs: bigint;
  processed: SpanRow;
}

const endpointOf = (span: SpanRow) => (span.destination ? `${span.service}/${span.destination}` : span.service);

export function orderViolations(businessKey: string, spans: readonly SpanRow[]): OrderViolation[] {
  const sentNs = new Map<string, bigint>();
  for (const span of spans) {
    if (!isSend(span) || span.messageId === '') continue;
    const known = sentNs.get(span.messageId);
    if (known === undefined || span.startNs < known) sentNs.set(span.messageId, span.startNs);
  }
  const byEndpoint = new Map<string, Map<string, Placed>>();
  for (const span of spans) {
    if (!isAttemptSpan(span) || span.outcome !== 'processed') continue;
    const sent = sentNs.get(span.messageId);
    if (sent === undefined) continue;
    const endpoint = endpointOf(span);
    const placed = byEndpoint.get(endpoint) ?? new Map<string, Placed>();
    byEndpoint.set(endpoint, placed);
    const known = placed.get(span.messageId);
    if (!known || span.startNs < known.processed.startNs)
      placed.set(span.messageId, { messageId: span.messageId, sentNs: sent, processed: span });
  }
  const violations: OrderViolation[] = [];
  for (const [endpoint, placed] of [...byEndpoint].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const inSendOrder = [...placed.values()].sort((a, b) => (a.sentNs < b.sentNs ? -1 : a.sentNs > b.sentNs ? 1 : 0));
    inSendOrder.forEach((late, i) => {
      const overtaking = inSendOrder
        .slice(i + 1)
        .find((later) => later.sentNs > late.sentNs && later.processed.startNs < late.processed.startNs);
      if (!overtaking) return;
      violations.push({
        businessKey,
        endpoint,
        messageId: late.messageId,
        messageType: late.processed.messageType,
        conversationId: late.processed.conversationId,
        service: late.processed.service,
        overtakenBy: overtaking.messageId,
        overtakenByConversationId: overtaking.processed.conversationId,
        timeMs: startMsOf(late.processed),
        evidence: [late.processed.spanId, overtaking.processed.spanId],
      });
    });
  }
  return violations;
}
