/**
 * Out-of-order processing across conversations (issue 11): the order violations of the flow's
 * business keys (`business-key-order.ts`, read by the indexer and the flow route) become
 * `out-of-order` anomalies of the flow whose message was processed late. Pure. Violations
 * between two messages of the flow itself are left to the flow's own detector
 * (`detectOutOfOrder`), so no pair is reported twice.
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
    if (violation.conversationId !== model.conversationId || violation.overtakenByConversationId === model.conversationId) continue;
    const message = model.messagesById.get(violation.messageId);
    const key = `${violation.endpoint}\u0000${violation.messageId}`;
    if (!message || seen.has(key)) continue;
    seen.add(key);
    found.push(
      anomaly(
        model,
        'out-of-order',
        'warning',
        message,
        { service: violation.service, endpoint: violation.endpoint },
        violation.timeMs,
        `${nameOf(violation.messageType, violation.messageId)} was processed by ${violation.endpoint} after ${violation.overtakenBy} of conversation ${violation.overtakenByConversationId}, which was sent later (business key ${violation.businessKey}): the handler must not assume order`,
      ),
    );
  }
  return found;
}
