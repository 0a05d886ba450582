/**
 * What both stores accept and how they key spans, in one place: the flow states, verdicts and
 * anomaly kinds a query may filter on (the lists of the API contract), row limits (validated, and capped so no caller can ask for
 * everything), the span identity (trace id, span id) that makes a re-sent span count once, and
 * the order span reads return.
 */
import { ANOMALY_KINDS, FLOW_STATES, VERDICTS, type AnomalyKind, type FlowState, type Verdict } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';

/** The most rows one read returns, per kind of read. */
export const ROW_LIMITS = {
  spans: 1_000_000,
  flows: 10_000,
  anomalies: 100_000,
  keys: 10_000,
} as const;

export function assertAnomalyKind(kind: string): AnomalyKind {
  if (!(ANOMALY_KINDS as readonly string[]).includes(kind)) throw new TypeError(`unknown anomaly kind: ${kind}`);
  return kind as AnomalyKind;
}

export function assertFlowState(state: string): FlowState {
  if (!FLOW_STATES.includes(state as FlowState)) throw new TypeError(`unknown flow state: ${state}`);
  return state as FlowState;
}

export function assertVerdict(verdict: string): Verdict {
  if (!VERDICTS.includes(verdict as Verdict)) throw new TypeError(`unknown verdict: ${verdict}`);
  return verdict as Verdict;
}

/** Validates a row limit (a non-negative integer) and caps it at `max`. */
/** A bucket width for `exportSequences`: a whole number of milliseconds, at least 1. */
export function assertStepMs(stepMs: number): number {
  if (!Number.isInteger(stepMs) || stepMs < 1) throw new RangeError(`invalid step: ${stepMs} (a whole number of milliseconds ≥ 1)`);
  return stepMs;
}

export function rowLimit(limit: number, max: number = ROW_LIMITS.spans): number {
  if (!Number.isInteger(limit) || limit < 0) throw new TypeError(`invalid limit: ${limit}`);
  return Math.min(limit, max);
}

/** The order of span reads: start, then trace id, then span id. */
export function inReadOrder(a: SpanRow, b: SpanRow): number {
  if (a.startNs !== b.startNs) return a.startNs < b.startNs ? -1 : 1;
  if (a.traceId !== b.traceId) return a.traceId < b.traceId ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

/** A span's identity: two spans with the same key are the same span (an exporter retry). */
export const spanKey = (span: Pick<SpanRow, 'traceId' | 'spanId'>) => `${span.traceId}/${span.spanId}`;

/** Drops repeats of a span within one batch; the first occurrence is kept. */
export function uniqueSpans(spans: readonly SpanRow[]): SpanRow[] {
  const unique = new Map<string, SpanRow>();
  for (const span of spans) {
    const key = spanKey(span);
    if (!unique.has(key)) unique.set(key, span);
  }
  return [...unique.values()];
}
