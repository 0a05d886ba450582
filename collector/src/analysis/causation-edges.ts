/**
 * Conversation model step: the produced-by edges of the causation graph, from causation ids,
 * outgoing listings and the attempt (or boundary HTTP call) above each send.
 */
import type { CausationEdge } from '../model/flow.js';
import type { AttemptModel, MessageModel, SendModel } from './conversation-types.js';

export function buildCausationEdges(
  messages: MessageModel[],
  messagesById: Map<string, MessageModel>,
  attempts: AttemptModel[],
  sends: SendModel[],
): CausationEdge[] {
  const edges: CausationEdge[] = [];
  const seenEdges = new Set<string>();
  const addEdge = (from: string, to: string, via: CausationEdge['via']) => {
    if (!from || from === to) return;
    const key = `${from}\u0000${to}`;
    if (seenEdges.has(key)) return;
    seenEdges.add(key);
    edges.push({ from, to, via });
  };
  for (const message of messages) {
    if (messagesById.has(message.causationId)) addEdge(message.causationId, message.id, 'message');
  }
  for (const attempt of attempts) {
    if (!messagesById.has(attempt.messageId)) continue;
    for (const id of attempt.outgoing) if (messagesById.has(id)) addEdge(attempt.messageId, id, 'message');
  }
  for (const send of sends) {
    if (send.producer && !send.resend && messagesById.has(send.producer.messageId)) {
      addEdge(send.producer.messageId, send.span.messageId, 'message');
    } else if (send.httpCallId) {
      addEdge(send.httpCallId, send.span.messageId, 'http');
    }
  }
  return edges;
}
