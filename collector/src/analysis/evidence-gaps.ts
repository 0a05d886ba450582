/**
 * Conversation model step: what evidence is missing. A verdict is never `violated` on missing
 * evidence, so the detectors and the ledger ask here before judging:
 *
 * - spans missing from a trace: a span whose parent span id never arrived (sampling, an
 *   exporter's dropped batch). The first span of a trace is exempt: its parent is often a
 *   caller outside the traced system (an uninstrumented client passing `traceparent`).
 * - attempt numbers with holes at an endpoint (attempt 1 and 3 seen, 2 not; or only 2).
 * - services that send message identity but record no outcomes: their attempts' commits
 *   are inferred from span status only.
 */
import type { SpanRow } from '../model/span.js';
import type { AttemptModel, EvidenceGaps } from './conversation-types.js';
import { spanKey } from './span-tree.js';

/** Spans whose parent never arrived, per trace (the trace's first span excepted); `spans` in start order. */
function findMissingParents(spans: SpanRow[], byKey: Map<string, SpanRow>): Map<string, SpanRow[]> {
  const seenTraces = new Set<string>();
  const orphans = new Map<string, SpanRow[]>();
  for (const span of spans) {
    const first = !seenTraces.has(span.traceId);
    if (first) seenTraces.add(span.traceId);
    if (first || !span.parentSpanId || byKey.has(spanKey(span.traceId, span.parentSpanId))) continue;
    const list = orphans.get(span.traceId);
    if (list) list.push(span);
    else orphans.set(span.traceId, [span]);
  }
  return orphans;
}

/** Attempt numbers below the highest recorded one that no span shows (unrecorded numbers, 0, are ignored). */
export function missingAttemptNumbers(attempts: AttemptModel[]): number[] {
  const seen = new Set(attempts.map((a) => a.attempt).filter((n) => n > 0));
  const highest = Math.max(0, ...seen);
  const missing: number[] = [];
  for (let n = 1; n < highest; n += 1) if (!seen.has(n)) missing.push(n);
  return missing;
}

/** Services with message attempts none of which recorded an outcome. */
function findOutcomelessServices(attempts: AttemptModel[]): Set<string> {
  const withOutcome = new Set<string>();
  const withIdentity = new Set<string>();
  for (const attempt of attempts) {
    if (!attempt.messageId) continue;
    withIdentity.add(attempt.service);
    if (attempt.outcome !== '') withOutcome.add(attempt.service);
  }
  return new Set([...withIdentity].filter((service) => !withOutcome.has(service)));
}

/** Orphans per message id and per causation id (a missing consumer's children carry its message as causation). */
function indexByMessage(orphansByTrace: Map<string, SpanRow[]>): Map<string, SpanRow[]> {
  const index = new Map<string, SpanRow[]>();
  const add = (id: string, span: SpanRow) => {
    if (!id) return;
    const list = index.get(id);
    if (list) list.push(span);
    else index.set(id, [span]);
  };
  for (const spans of orphansByTrace.values()) {
    for (const span of spans) {
      add(span.messageId, span);
      if (span.causationId !== span.messageId) add(span.causationId, span);
    }
  }
  return index;
}

/** `spans` in start order (the conversation model sorts them). */
export function findEvidenceGaps(spans: SpanRow[], byKey: Map<string, SpanRow>, attempts: AttemptModel[]): EvidenceGaps {
  const orphansByTrace = findMissingParents(spans, byKey);
  return {
    orphansByTrace,
    orphansByMessage: indexByMessage(orphansByTrace),
    outcomelessServices: findOutcomelessServices(attempts),
  };
}
