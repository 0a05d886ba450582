/**
 * Typed client for the collector's REST API (docs/api.md). Every call returns the JSON shape
 * from `collector/src/model/flow.ts`; failures become `ApiError` saying whether the collector
 * was unreachable or answered with an error, so views can tell the two apart.
 */
import type { Anomaly, Flow, FlowSummary, StormReport, Topology, TrendGrouping, Trends } from '../model/types.js';
import type { FlowPage } from '../model/types.js';
import type { MessageHistory } from '../../../collector/src/api/message-history.js';

export type { MessageHistory };

export type ApiErrorKind = 'unreachable' | 'not-found' | 'bad-request' | 'server';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

export interface Window {
  fromMs: number;
  toMs: number;
}

export interface Health {
  status: 'ok' | 'degraded';
  store: string;
  storeDetail: string;
  version: string;
  spans: number | null;
  liveClients: number;
}

export type FlowList = FlowPage & Window;


export type Params = Record<string, string | number | boolean | undefined | null>;

function query(params: Params): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

const windowParams = (w: Window) => ({ from: Math.floor(w.fromMs), to: Math.ceil(w.toMs) });

declare global {
  interface Window {
    /** Started by index.html before the app loads; see there. */
    __onceflowPrefetch?: { path: string; response: Promise<Response> };
  }
}

/** The response index.html already requested for `path`, once. */
function takePrefetched(path: string): Promise<Response> | null {
  const prefetch = typeof window === 'undefined' ? undefined : window.__onceflowPrefetch;
  if (!prefetch || prefetch.path !== path) return null;
  window.__onceflowPrefetch = undefined;
  return prefetch.response;
}

export async function getJson<T>(path: string, signal?: AbortSignal, baseUrl = ''): Promise<T> {
  let response: Response;
  try {
    response = await (takePrefetched(path) ?? fetch(`${baseUrl}${path}`, { signal, headers: { accept: 'application/json' } }));
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError('unreachable', `The collector API is unreachable (${(error as Error).message}). Is \`onceflow serve\` running?`);
  }
  if (response.ok) return (await response.json()) as T;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: string };
    if (body.error) message = body.error;
  } catch {
    // A proxy's HTML error page: keep the status line.
  }
  // A dev proxy answers 502/504 when the collector is down.
  if (response.status === 502 || response.status === 504) throw new ApiError('unreachable', `The collector API is unreachable (${message}).`, response.status);
  const kind: ApiErrorKind = response.status === 404 ? 'not-found' : response.status < 500 ? 'bad-request' : 'server';
  throw new ApiError(kind, message, response.status);
}

export interface FlowListParams {
  window: Window;
  filters: Record<string, string>;
  limit?: number;
  cursor?: string | null;
}

export const api = {
  health: (signal?: AbortSignal) => getJson<Health>('/api/health', signal),
  flows: ({ window, filters, limit = 100, cursor }: FlowListParams, signal?: AbortSignal) =>
    getJson<FlowList>(`/api/flows${query({ ...windowParams(window), ...filters, limit, cursor })}`, signal),
  flow: (conversationId: string, page: { offset: number; limit: number }, signal?: AbortSignal) =>
    getJson<Flow>(`/api/flows/${encodeURIComponent(conversationId)}${query(page)}`, signal),
  message: (messageId: string, signal?: AbortSignal) => getJson<MessageHistory>(`/api/messages/${encodeURIComponent(messageId)}`, signal),
  search: (q: string, signal?: AbortSignal) => getJson<{ q: string; flows: FlowSummary[] }>(`/api/search${query({ q })}`, signal),
  anomalies: (window: Window, params: { kind?: string; service?: string; limit?: number }, signal?: AbortSignal) =>
    getJson<Window & { anomalies: Anomaly[] }>(`/api/anomalies${query({ ...windowParams(window), ...params })}`, signal),
  storms: (window: Window, stepMs: number, signal?: AbortSignal) =>
    getJson<StormReport>(`/api/storms${query({ ...windowParams(window), step: stepMs })}`, signal),
  trends: (window: Window, stepMs: number, by: TrendGrouping, signal?: AbortSignal) =>
    getJson<Trends>(`/api/trends${query({ ...windowParams(window), step: stepMs, by })}`, signal),
  topology: (window: Window, signal?: AbortSignal) => getJson<Topology>(`/api/topology${query(windowParams(window))}`, signal),
};
