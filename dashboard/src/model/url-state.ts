/**
 * Everything a view shows is addressed by its URL so a link can be pasted into an incident
 * channel: the route (path), the time window (`range` relative to now, or absolute `from`/`to`
 * epoch ms), filters and the current selection (query parameters). Pure: no `window`, no clock.
 */
import {
  ANOMALY_KINDS,
  TREND_GROUPINGS,
  VERDICTS,
  type AnomalyKind,
  type FlowState,
  type TimeWindow,
  type TrendGrouping,
  type Verdict,
} from '@onceflow/collector/contract';

export type { TimeWindow };

export type Route =
  | { view: 'map' }
  | { view: 'flows' }
  | { view: 'flow'; conversationId: string }
  | { view: 'storms' }
  | { view: 'trends' }
  | { view: 'investigate' }
  | { view: 'coverage' }
  | { view: 'not-found'; path: string };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'map')) return { view: 'map' };
  if (parts[0] === 'flows' && parts.length === 1) return { view: 'flows' };
  if (parts[0] === 'flows' && parts.length === 2) return { view: 'flow', conversationId: parts[1] };
  if (parts.length === 1 && (parts[0] === 'storms' || parts[0] === 'trends' || parts[0] === 'investigate' || parts[0] === 'coverage')) {
    return { view: parts[0] };
  }
  return { view: 'not-found', path: pathname };
}

export function routePath(route: Route): string {
  switch (route.view) {
    case 'map':
      return '/';
    case 'flow':
      return `/flows/${encodeURIComponent(route.conversationId)}`;
    case 'not-found':
      return route.path;
    default:
      return `/${route.view}`;
  }
}

// ---- time window ------------------------------------------------------------------------

export const RANGE_PRESETS = ['5m', '15m', '1h', '6h', '24h', '7d'] as const;
export const DEFAULT_RANGE = '1h';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `15m` → 900000; null when not a duration. */
export function parseRange(range: string): number | null {
  const match = /^(\d+)([smhd])$/.exec(range);
  if (!match) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2]];
  return ms > 0 ? ms : null;
}

/** A window as the URL states it: relative (`range`) or absolute (`from`/`to`). */
export type WindowSpec = { kind: 'relative'; range: string; ms: number } | { kind: 'absolute'; fromMs: number; toMs: number };

export function parseWindowSpec(params: URLSearchParams): WindowSpec {
  const from = Number(params.get('from'));
  const to = Number(params.get('to'));
  if (params.has('from') && params.has('to') && Number.isFinite(from) && Number.isFinite(to) && to > from) {
    return { kind: 'absolute', fromMs: from, toMs: to };
  }
  const range = params.get('range') ?? DEFAULT_RANGE;
  const ms = parseRange(range);
  return ms ? { kind: 'relative', range, ms } : { kind: 'relative', range: DEFAULT_RANGE, ms: parseRange(DEFAULT_RANGE)! };
}

/**
 * Resolves a spec against `nowMs`. Relative windows end at `nowMs` rounded up to `alignMs`, so
 * query keys stay stable between re-renders and change once per alignment step (a refresh).
 */
export function resolveWindow(spec: WindowSpec, nowMs: number, alignMs = 10_000): TimeWindow {
  if (spec.kind === 'absolute') return { fromMs: spec.fromMs, toMs: spec.toMs };
  const toMs = Math.ceil(nowMs / alignMs) * alignMs;
  return { fromMs: toMs - spec.ms, toMs };
}

/** The window of the same length that ends where `w` starts: what Investigate compares against. */
export function previousWindow(w: TimeWindow): TimeWindow {
  const length = w.toMs - w.fromMs;
  return { fromMs: w.fromMs - length, toMs: w.fromMs };
}

const NICE_STEPS_MS = [
  1000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000,
  43_200_000, 86_400_000,
];

/** A trend bucket size giving about `targetBuckets` points across the window. */
export function pickStep(w: TimeWindow, targetBuckets = 60): number {
  const raw = (w.toMs - w.fromMs) / targetBuckets;
  return NICE_STEPS_MS.find((step) => step >= raw) ?? NICE_STEPS_MS[NICE_STEPS_MS.length - 1];
}

// ---- flow list filters ------------------------------------------------------------------

export interface FlowFilters {
  q: string;
  service: string;
  messageType: string;
  anomaly: AnomalyKind | '';
  /** '' = any; 'complete' / 'incomplete' / 'active' map to the API's `complete` and `state`. */
  completion: '' | 'complete' | 'incomplete' | 'active';
  /** The flow's exactly-once verdict; '' = any. */
  verdict: Verdict | '';
}

export const EMPTY_FLOW_FILTERS: FlowFilters = { q: '', service: '', messageType: '', anomaly: '', completion: '', verdict: '' };

function isAnomalyKind(value: string): value is AnomalyKind {
  return (ANOMALY_KINDS as readonly string[]).includes(value);
}

export function parseFlowFilters(params: URLSearchParams): FlowFilters {
  const anomaly = params.get('anomaly') ?? '';
  const completion = params.get('completion') ?? '';
  const verdict = params.get('verdict') ?? '';
  return {
    q: params.get('q') ?? '',
    service: params.get('service') ?? '',
    messageType: params.get('messageType') ?? '',
    anomaly: isAnomalyKind(anomaly) ? anomaly : '',
    completion: completion === 'complete' || completion === 'incomplete' || completion === 'active' ? completion : '',
    verdict: VERDICTS.find((known) => known === verdict) ?? '',
  };
}

/** Filters → query parameters of `GET /api/flows` (empty ones left out). */
export function flowQueryParams(filters: FlowFilters): Record<string, string> {
  const out: Record<string, string> = {};
  if (filters.q) out.q = filters.q;
  if (filters.service) out.service = filters.service;
  if (filters.messageType) out.messageType = filters.messageType;
  if (filters.anomaly) out.anomaly = filters.anomaly;
  const state: Record<string, FlowState> = { complete: 'complete', incomplete: 'incomplete', active: 'active' };
  if (filters.completion) out.state = state[filters.completion];
  if (filters.verdict) out.verdict = filters.verdict;
  return out;
}

export function parseGrouping(value: string | null): TrendGrouping {
  return TREND_GROUPINGS.find((grouping) => grouping === value) ?? 'service';
}

/**
 * Returns new search params with `changes` applied: empty strings and nulls delete a key.
 * Keys keep a stable order so equal states give equal URLs.
 */
export function withParams(params: URLSearchParams, changes: Record<string, string | number | null | undefined>): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === '') next.delete(key);
    else next.set(key, String(value));
  }
  next.sort();
  return next;
}
