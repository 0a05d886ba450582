/**
 * Conversation and causation as W3C baggage entries, so they also cross processes (and
 * reach other languages' SDKs) through the standard `baggage` header, next to the
 * `onceflow-*` headers.
 */
import { BAGGAGE_CAUSATION_ID, BAGGAGE_CONVERSATION_ID } from './semconv.js';

/** Reads Onceflow's entries from a `baggage` header value. */
export function readBaggageHeader(value: string | undefined): { conversationId?: string; causationId?: string } {
  if (!value || !value.includes('onceflow.')) return {};
  const found: { conversationId?: string; causationId?: string } = {};
  for (const member of value.split(',')) {
    const [pair] = member.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    if (key !== BAGGAGE_CONVERSATION_ID && key !== BAGGAGE_CAUSATION_ID) continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      continue;
    }
    if (key === BAGGAGE_CONVERSATION_ID) found.conversationId = decoded;
    else found.causationId = decoded;
  }
  return found;
}

/** A `baggage` header value with Onceflow's entries replaced (other members are kept). */
export function writeBaggageHeader(existing: string | undefined, entries: { conversationId: string; causationId?: string }): string {
  const own = entries.causationId
    ? `${BAGGAGE_CONVERSATION_ID}=${encodeURIComponent(entries.conversationId)},${BAGGAGE_CAUSATION_ID}=${encodeURIComponent(entries.causationId)}`
    : `${BAGGAGE_CONVERSATION_ID}=${encodeURIComponent(entries.conversationId)}`;
  if (!existing) return own;
  const kept = (existing ?? '')
    .split(',')
    .map((member) => member.trim())
    .filter((member) => {
      if (member === '') return false;
      const key = member.split('=')[0].trim();
      return key !== BAGGAGE_CONVERSATION_ID && key !== BAGGAGE_CAUSATION_ID;
    });
  kept.push(own);
  return kept.join(',');
}
