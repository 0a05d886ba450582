/**
 * Ordering per business key across conversations, read before a flow is judged (indexer) or
 * shown (flow route): for each business key present in the flow's spans, the other spans of
 * that key (`spansOfBusinessKeys`, one read for all the keys, bounded) go through
 * `orderViolations`. Flows without a business key cost nothing, and the flow's own conversation
 * is not read again when the caller holds all of its spans.
 */
import { ATTR_BUSINESS_KEY } from '@onceflow/instrumentation/semconv';
import { orderViolations, type OrderViolation } from '../analysis/business-key-order.js';
import type { SpanRow } from '../model/span.js';
import type { SpanStore } from '../store/span-store.js';
import { inReadOrder, uniqueSpans } from '../store/store-inputs.js';

/** Business keys read per flow (the first in sort order); a flow with more is judged on these. */
const MAX_KEYS = 20;
/** Spans read per business key; a key with more is judged on what was read. */
const MAX_KEY_SPANS = 2000;

/** A conversation's spans as `spansOfConversation` returned them, all of them (not truncated). */
export interface ConversationSpans {
  conversationId: string;
  spans: readonly SpanRow[];
}

/**
 * `spans`: the flow's spans (its conversation's and those added to it), whose keys are judged.
 * `own`: the conversation's stored spans when the caller read them whole; the store is then asked
 * only for the keys' spans elsewhere, and the result is the same.
 */
export async function businessKeyOrderOf(store: SpanStore, spans: readonly SpanRow[], own?: ConversationSpans): Promise<OrderViolation[]> {
  const keys = [...new Set(spans.map((span) => span.attributes[ATTR_BUSINESS_KEY]).filter(Boolean))].sort().slice(0, MAX_KEYS);
  if (keys.length === 0) return [];
  const elsewhere = await store.spansOfBusinessKeys(keys, MAX_KEY_SPANS, own?.conversationId);
  return keys.flatMap((key) => {
    const ofKey = elsewhere.get(key) ?? [];
    const here = own ? own.spans.filter((span) => span.attributes[ATTR_BUSINESS_KEY] === key) : [];
    const all =
      here.length === 0
        ? ofKey
        : uniqueSpans([...here, ...ofKey])
            .sort(inReadOrder)
            .slice(0, MAX_KEY_SPANS);
    return orderViolations(key, all);
  });
}
