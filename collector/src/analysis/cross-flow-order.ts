/**
 * Out-of-order processing across conversations (issue 11): the order violations of the flow's
 * business keys (`business-key-order.ts`, read by the indexer and the flow route) become
 * `out-of-order` anomalies of the flow whose message overtook the earlier-sent one, as the
 * flow's own detector (`detectOutOfOrder`) reports a pair inside one flow: one rule, whichever
 * flows the two messages belong to. Pure. Violations between two messages of the flow itself
 * are left to that detector, so no pair is reported twice.
 */
import type { Anomaly } from '../model/flow.js';
import { anomaly } from './anomaly-builder.js';
import type { OrderViolation } from './business-key-order.js';
import type { ConversationModel } from './conversation-types.js';
import { nameOf } from './format.js';

export function crossFlowOrderAnomalies(model: ConversationModel, violations: readonly OrderViolation[]): Anomaly[] {
  const found: Anomaly[] = [];
  const seen = new Set<string>();
  for (const violation of violations) {
    if (violation.overtakenByConversationId !== model.conversationId || violation.conversationId === model.conversationId) continue;
    const message = model.messagesById.get(violation.overtakenBy);
    const key = `${violation.endpoint}\u0000${violation.overtakenBy}`;
    if (!message || seen.has(key)) continue;
    seen.add(key);
    const processing = message.attempts.find((a) => a.span.spanId === violation.evidence[1]);
    found.push(
      anomaly(
        model,
        'out-of-order',
        'warning',
        message,
        { service: violation.service, endpoint: violation.endpoint },
        processing?.startMs ?? violation.timeMs,
        `${nameOf(message.type, message.id)} was processed by ${violation.endpoint} before ${nameOf(violation.messageType, violation.messageId)} of conversation ${violation.conversationId}, which was sent earlier (business key ${violation.businessKey}): the handler must not assume order`,
      ),
    );
  }
  return found;
}
