/**
 * Parentage within a trace, for the conversation model's steps: span keys, a stable span
 * order, and a memoized nearest-ancestor lookup (the attempt and the HTTP server span above a
 * span).
 */
import type { SpanRow } from '../model/span.js';
import { isAttemptSpan, isHttpServer } from '../model/span-roles.js';

export const spanKey = (traceId: string, spanId: string) => `${traceId}/${spanId}`;
export const keyOf = (span: SpanRow) => spanKey(span.traceId, span.spanId);

export interface Ancestors {
  /** Nearest ancestor that is an attempt span. */
  attempt: SpanRow | null;
  /** Nearest ancestor that is an HTTP server span. */
  server: SpanRow | null;
}
const NO_ANCESTORS: Ancestors = { attempt: null, server: null };

export type AncestorLookup = (span: SpanRow) => Ancestors;

/** Memoized nearest-ancestor lookup within a trace (parentage only; cycles are cut). */
export function ancestorIndex(byKey: Map<string, SpanRow>): AncestorLookup {
  const memo = new Map<SpanRow, Ancestors>();
  const extend = (span: SpanRow, above: Ancestors): Ancestors => ({
    attempt: isAttemptSpan(span) ? span : above.attempt,
    server: isHttpServer(span) ? span : above.server,
  });
  return (span: SpanRow): Ancestors => {
    const known = memo.get(span);
    if (known) return known;
    const path: SpanRow[] = [];
    let top = NO_ANCESTORS;
    let current = span;
    for (;;) {
      path.push(current);
      const parent = current.parentSpanId ? byKey.get(spanKey(current.traceId, current.parentSpanId)) : undefined;
      // A parent cycle (corrupt data) is cut once the path is longer than the trace could be.
      if (!parent || path.length > byKey.size) break;
      const parentAncestors = memo.get(parent);
      if (parentAncestors) {
        top = extend(parent, parentAncestors);
        break;
      }
      current = parent;
    }
    for (let i = path.length - 1; i >= 0; i -= 1) {
      memo.set(path[i], top);
      top = extend(path[i], top);
    }
    return memo.get(span)!;
  };
}

export function compareSpans(a: SpanRow, b: SpanRow): number {
  if (a.startNs !== b.startNs) return a.startNs < b.startNs ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}
