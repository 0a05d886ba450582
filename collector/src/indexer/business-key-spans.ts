/**
 * Ordering per business key across conversations, read before a flow is judged (indexer) or
 * shown (flow route): for each business key present in the flow's spans, the other spans of
 * that key (`spansOfBusinessKey`, bounded) go through `orderViolations`. Flows without a
 * business key cost nothing.
 */
import { ATTR_BUSINESS_KEY } from '@onceflow/instrumentation/semconv';
import { orderViolations, type OrderViolation } from '../analysis/business-key-order.js';
import type { SpanRow } from '../model/span.js';
import type { SpanStore } from '../store/span-store.js';

/** Business keys read per flow (the first in sort order); a flow with more is judged on these. */
const MAX_KEYS = 20;
/** Spans read per business key; a key with more is judged on what was read. */
const MAX_KEY_SPANS = 2000;

export async function businessKeyOrderOf(store: SpanStore, spans: readonly SpanRow[]): Promise<OrderViolation[]> {
  const keys = [...new Set(spans.map((span) => span.attributes[ATTR_BUSINESS_KEY]).filter(Boolean))].sort().slice(0, MAX_KEYS);
  const found = await Promise.all(keys.map(async (key) => orderViolations(key, await store.spansOfBusinessKey(key, MAX_KEY_SPANS))));
  return found.flat();
}
