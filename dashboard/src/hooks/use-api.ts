/**
 * TanStack Query hooks over the API client: the only way views get server data. Query keys
 * carry everything the request depends on, so the cache is keyed by window and filters.
 */
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import type { TimeWindow, TrendGrouping } from '@onceflow/collector/contract';
import { api } from '../api/client.js';

export const queryKeys = {
  health: ['health'] as const,
  topology: (w: TimeWindow) => ['topology', w.fromMs, w.toMs] as const,
  flows: (w: TimeWindow, filters: Record<string, string>) => ['flows', w.fromMs, w.toMs, filters] as const,
  flow: (conversationId: string) => ['flow', conversationId] as const,
  message: (messageId: string) => ['message', messageId] as const,
  search: (q: string) => ['search', q] as const,
  trends: (w: TimeWindow, stepMs: number, by: TrendGrouping) => ['trends', w.fromMs, w.toMs, stepMs, by] as const,
  storms: (w: TimeWindow, stepMs: number) => ['storms', w.fromMs, w.toMs, stepMs] as const,
  anomalies: (w: TimeWindow, kind: string, service: string) => ['anomalies', w.fromMs, w.toMs, kind, service] as const,
  coverage: (w: TimeWindow) => ['coverage', w.fromMs, w.toMs] as const,
};

export function useHealth() {
  return useQuery({ queryKey: queryKeys.health, queryFn: ({ signal }) => api.health(signal), refetchInterval: 15_000, retry: false });
}

export function useTopology(timeWindow: TimeWindow) {
  return useQuery({
    queryKey: queryKeys.topology(timeWindow),
    queryFn: ({ signal }) => api.topology(timeWindow, signal),
    placeholderData: keepPreviousData,
  });
}

export function useFlowList(timeWindow: TimeWindow, filters: Record<string, string>, limit = 100, enabled = true) {
  return useInfiniteQuery({
    queryKey: [...queryKeys.flows(timeWindow, filters), limit],
    queryFn: ({ signal, pageParam }) => api.flows({ timeWindow, filters, limit, cursor: pageParam }, signal),
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

export function useTrends(timeWindow: TimeWindow, stepMs: number, by: TrendGrouping, enabled = true) {
  return useQuery({
    queryKey: queryKeys.trends(timeWindow, stepMs, by),
    queryFn: ({ signal }) => api.trends(timeWindow, stepMs, by, signal),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export function useStorms(timeWindow: TimeWindow, stepMs: number) {
  return useQuery({
    queryKey: queryKeys.storms(timeWindow, stepMs),
    queryFn: ({ signal }) => api.storms(timeWindow, stepMs, signal),
    placeholderData: keepPreviousData,
  });
}

export function useAnomalies(timeWindow: TimeWindow, kind = '', service = '') {
  return useQuery({
    queryKey: queryKeys.anomalies(timeWindow, kind, service),
    queryFn: ({ signal }) => api.anomalies(timeWindow, { kind: kind || undefined, service: service || undefined, limit: 200 }, signal),
    placeholderData: keepPreviousData,
  });
}

export function useCoverage(timeWindow: TimeWindow) {
  return useQuery({
    queryKey: queryKeys.coverage(timeWindow),
    queryFn: ({ signal }) => api.coverage(timeWindow, signal),
    placeholderData: keepPreviousData,
  });
}
