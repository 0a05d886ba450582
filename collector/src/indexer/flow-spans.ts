/**
 * A flow's spans beyond its conversation index, read before it is judged (indexer) or shown
 * (flow route). Other instrumentations put spans without a conversation id between an attempt
 * and the sends it makes (NServiceBus's handler activity), and consumers without one may be
 * stored under a conversation derived from the producer's trace (`deliveries-elsewhere.ts`).
 * Both are looked up when the flow is read, never at ingest, so the result does not depend on
 * the order in which batches arrived; both cost nothing for flows that need neither.
 */
import { isSend } from '../model/span-roles.js';
import type { SpanRow } from '../model/span.js';
import type { SpanStore } from '../store/span-store.js';
import { withDeliveriesElsewhere } from './deliveries-elsewhere.js';

/** Traces read per flow for missing parents; a flow with more is judged on what was read. */
const MAX_TRACES = 20;
const MAX_TRACE_SPANS = 2000;

const keyOf = (traceId: string, spanId: string) => `${traceId}/${spanId}`;

/**
 * Sends whose parent is not in the flow get their chain of internal, conversation-less
 * ancestors from their trace (relabelled with this conversation), up to the first span that
 * is in the flow or is not such a span: the attempt that made the send is found again.
 */
export async function withMissingParents(store: SpanStore, conversationId: string, spans: SpanRow[]): Promise<SpanRow[]> {
  const present = new Set(spans.map((span) => keyOf(span.traceId, span.spanId)));
  const orphans = spans.filter((span) => isSend(span) && span.parentSpanId !== '' && !present.has(keyOf(span.traceId, span.parentSpanId)));
  if (orphans.length === 0) return spans;
  const traces = [...new Set(orphans.map((span) => span.traceId))].slice(0, MAX_TRACES);
  const found = await Promise.all(
    traces.map(async (traceId) => {
      const byId = new Map((await store.spansOfTrace(traceId, MAX_TRACE_SPANS)).map((span) => [span.spanId, span]));
      const added: SpanRow[] = [];
      for (const orphan of orphans) {
        if (orphan.traceId !== traceId) continue;
        let parent = byId.get(orphan.parentSpanId);
        while (parent && parent.kind === 'internal' && parent.conversationId === '' && !present.has(keyOf(traceId, parent.spanId))) {
          present.add(keyOf(traceId, parent.spanId));
          added.push({ ...parent, conversationId });
          parent = parent.parentSpanId ? byId.get(parent.parentSpanId) : undefined;
        }
      }
      return added;
    }),
  );
  const parents = found.flat();
  return parents.length === 0 ? spans : [...spans, ...parents];
}

/** The flow's spans with the missing parents of its sends and its deliveries stored elsewhere. */
export async function completeFlowSpans(
  store: SpanStore,
  conversationId: string,
  spans: SpanRow[],
  options: { now: number; quietPeriodMs: number },
): Promise<SpanRow[]> {
  return withDeliveriesElsewhere(store, conversationId, await withMissingParents(store, conversationId, spans), options);
}
