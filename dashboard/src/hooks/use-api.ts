/**
 * TanStack Query hooks over the API client: the only way views get server data. Query keys
 * carry everything the request depends on, so the cache is keyed by window and filters.
 */
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { api, type Window } from '../api/client.js';
import type { TrendGrouping } from '../model/types.js';

export const queryKeys = {
  health: ['health'] as const,
  topology: (w: Window) => ['topology', w.fromMs, w.toMs] as const,
  flows: (w: Window, filters: Record<string, string>) => ['flows', w.fromMs, w.toMs, filters] as const,
  flow: (conversationId: string) => ['flow', conversationId] as const,
  message: (messageId: string) => ['message', messageId] as const,
  search: (q: string) => ['search', q] as const,
  trends: (w: Window, stepMs: number, by: TrendGrouping) => ['trends', w.fromMs, w.toMs, stepMs, by] as const,
  storms: (w: Window, stepMs: number) => ['storms', w.fromMs, w.toMs, stepMs] as const,
  anomalies: (w: Window, kind: string, service: string) => ['anomalies', w.fromMs, w.toMs, kind, service] as const,
  coverage: (w: Window) => ['coverage', w.fromMs, w.toMs] as const,
};

export function useHealth() {
  return useQuery({ queryKey: queryKeys.health, queryFn: ({ signal }) => api.health(signal), refetchInterval: 15_000, retry: false });
}

export function useTopology(window: Window) {
  return useQuery({
    queryKey: queryKeys.topology(window),
    queryFn: ({ signal }) => api.topology(window, signal),
    placeholderData: keepPreviousData,
  });
}

export function useFlowList(window: Window, filters: Record<string, string>, limit = 100, enabled = true) {
  return useInfiniteQuery({
    queryKey: [...queryKeys.flows(window, filters), limit],
    queryFn: ({ signal, pageParam }) => api.flows({ window, filters, limit, cursor: pageParam }, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    placeholderData: keepPreviousData,
    enabled,
  });
}

/**
 * Messages of one flow, in pages of `FLOW_PAGE_SIZE` (the API's maximum: every page costs the
 * server a reconstruction of the whole flow, so fewer larger pages load a big flow sooner).
 */
/** Also in index.html's early fetch of a flow's first page: keep the two equal. */
export const FLOW_PAGE_SIZE = 2000;

export function useFlow(conversationId: string) {
  return useInfiniteQuery({
    queryKey: queryKeys.flow(conversationId),
    queryFn: ({ signal, pageParam }) => api.flow(conversationId, { offset: pageParam, limit: FLOW_PAGE_SIZE }, signal),
    initialPageParam: 0,
    getNextPageParam: (last) => {
      const next = last.page.offset + last.page.limit;
      return next < last.page.total ? next : undefined;
    },
    retry: (count, error) => (error as { kind?: string }).kind !== 'not-found' && count < 2,
  });
}

export function useMessage(messageId: string | null) {
  return useQuery({
    queryKey: queryKeys.message(messageId ?? ''),
    queryFn: ({ signal }) => api.message(messageId!, signal),
    enabled: Boolean(messageId),
  });
}

export function useSearch(q: string) {
  return useQuery({ queryKey: queryKeys.search(q), queryFn: ({ signal }) => api.search(q, signal), enabled: q.length > 0 });
}

export function useTrends(window: Window, stepMs: number, by: TrendGrouping, enabled = true) {
  return useQuery({
    queryKey: queryKeys.trends(window, stepMs, by),
    queryFn: ({ signal }) => api.trends(window, stepMs, by, signal),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export function useStorms(window: Window, stepMs: number) {
  return useQuery({
    queryKey: queryKeys.storms(window, stepMs),
    queryFn: ({ signal }) => api.storms(window, stepMs, signal),
    placeholderData: keepPreviousData,
  });
}

export function useAnomalies(window: Window, kind = '', service = '') {
  return useQuery({
    queryKey: queryKeys.anomalies(window, kind, service),
    queryFn: ({ signal }) => api.anomalies(window, { kind: kind || undefined, service: service || undefined, limit: 200 }, signal),
    placeholderData: keepPreviousData,
  });
}

export function useCoverage(window: Window) {
  return useQuery({
    queryKey: queryKeys.coverage(window),
    queryFn: ({ signal }) => api.coverage(window, signal),
    placeholderData: keepPreviousData,
  });
}
