/**
 * Client for the collector's REST API (docs/api.md). Every response is checked against the
 * collector's published contract (`@onceflow/collector/contract`) before a view sees it, so a
 * collector answering another shape shows as an error naming the endpoint and the field instead
 * of a blank or half-drawn view. Failures become `ApiError`, whose kind tells the views whether
 * the collector was unreachable, refused the request, failed, or answered an unexpected shape.
 */
import {
  AnomalyListSchema,
  ApiErrorBodySchema,
  CoverageSchema,
  FlowListSchema,
  FlowSchema,
  HealthSchema,
  MessageHistorySchema,
  SearchResultSchema,
  StormListSchema,
  TopologySchema,
  TrendsSchema,
  type TimeWindow,
  type TrendGrouping,
} from '@onceflow/collector/contract';
import { en } from 'zod/locales';
import { z, type ZodMiniType } from 'zod/mini';
import { apiToken } from './api-token.js';

// zod/mini (the contract's tree-shakable form) loads no messages by itself: say what was expected.
z.config(en());

export type ApiErrorKind = 'unreachable' | 'unauthorized' | 'not-found' | 'bad-request' | 'server' | 'unexpected-shape';

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

export type Params = Record<string, string | number | boolean | undefined | null>;

function query(params: Params): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

const windowParams = (timeWindow: TimeWindow) => ({ from: Math.floor(timeWindow.fromMs), to: Math.ceil(timeWindow.toMs) });

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

/** Issues listed in an unexpected-shape error; the rest are counted. */
const MAX_LISTED_ISSUES = 3;

/** The body, typed by the contract; anything else is an `unexpected-shape` ApiError naming the endpoint and fields. */
export function parseResponse<T>(path: string, schema: ZodMiniType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => {
    const at = issue.path.length > 0 ? issue.path.map(String).join('.') : 'the response';
    return `${at}: ${issue.message}`;
  });
  if (issues.length > MAX_LISTED_ISSUES) listed.push(`and ${issues.length - MAX_LISTED_ISSUES} more`);
  const endpoint = path.split('?')[0];
  throw new ApiError('unexpected-shape', `The collector answered ${endpoint} with an unexpected shape: ${listed.join('; ')}.`);
}

export async function getJson<T>(path: string, schema: ZodMiniType<T>, signal?: AbortSignal, baseUrl = ''): Promise<T> {
  let response: Response;
  try {
    response = await (takePrefetched(path) ??
      fetch(`${baseUrl}${path}`, { signal, headers: { accept: 'application/json', ...apiToken.headers() } }));
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError('unreachable', `The collector API is unreachable (${(error as Error).message}). Is \`onceflow serve\` running?`);
  }
  if (response.ok) {
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new ApiError(
        'unexpected-shape',
        `The collector answered ${path.split('?')[0]} with something that is not JSON.`,
        response.status,
      );
    }
    return parseResponse(path, schema, body);
  }
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = ApiErrorBodySchema.safeParse(await response.json());
    if (body.success) message = body.data.error;
  } catch {
    // A proxy's HTML error page: keep the status line.
  }
  // A dev proxy answers 502/504 when the collector is down.
  if (response.status === 502 || response.status === 504)
    throw new ApiError('unreachable', `The collector API is unreachable (${message}).`, response.status);
  if (response.status === 401 || response.status === 403) {
    apiToken.refused(message);
    throw new ApiError('unauthorized', message, response.status);
  }
  const kind: ApiErrorKind = response.status === 404 ? 'not-found' : response.status < 500 ? 'bad-request' : 'server';
  throw new ApiError(kind, message, response.status);
}

export interface FlowListParams {
  timeWindow: TimeWindow;
  filters: Record<string, string>;
  limit?: number;
  cursor?: string | null;
}

/** The API's endpoints on the collector at `baseUrl` ('' for the one serving this page). */
export function createApi(baseUrl = '') {
  const get = <T>(path: string, schema: ZodMiniType<T>, signal?: AbortSignal) => getJson(path, schema, signal, baseUrl);
  return {
    health: (signal?: AbortSignal) => get('/api/health', HealthSchema, signal),
    flows: ({ timeWindow, filters, limit = 100, cursor }: FlowListParams, signal?: AbortSignal) =>
      get(`/api/flows${query({ ...windowParams(timeWindow), ...filters, limit, cursor })}`, FlowListSchema, signal),
    flow: (conversationId: string, page: { offset: number; limit: number }, signal?: AbortSignal) =>
      get(`/api/flows/${encodeURIComponent(conversationId)}${query(page)}`, FlowSchema, signal),
    message: (messageId: string, signal?: AbortSignal) =>
      get(`/api/messages/${encodeURIComponent(messageId)}`, MessageHistorySchema, signal),
    search: (q: string, signal?: AbortSignal) => get(`/api/search${query({ q })}`, SearchResultSchema, signal),
    anomalies: (timeWindow: TimeWindow, params: { kind?: string; service?: string; limit?: number }, signal?: AbortSignal) =>
      get(`/api/anomalies${query({ ...windowParams(timeWindow), ...params })}`, AnomalyListSchema, signal),
    storms: (timeWindow: TimeWindow, stepMs: number, signal?: AbortSignal) =>
      get(`/api/storms${query({ ...windowParams(timeWindow), step: stepMs })}`, StormListSchema, signal),
    trends: (timeWindow: TimeWindow, stepMs: number, by: TrendGrouping, signal?: AbortSignal) =>
      get(`/api/trends${query({ ...windowParams(timeWindow), step: stepMs, by })}`, TrendsSchema, signal),
    topology: (timeWindow: TimeWindow, signal?: AbortSignal) =>
      get(`/api/topology${query(windowParams(timeWindow))}`, TopologySchema, signal),
    coverage: (timeWindow: TimeWindow, signal?: AbortSignal) =>
      get(`/api/coverage${query(windowParams(timeWindow))}`, CoverageSchema, signal),
  };
}

export type Api = ReturnType<typeof createApi>;

export const api: Api = createApi();
