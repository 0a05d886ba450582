/**
 * The URL is the dashboard's view state (route, window, filters, selection). This hook
 * subscribes to it; `navigate` and `useSearchParams().set` change it with pushState, so the
 * back button and shared links work.
 */
import { useCallback, useSyncExternalStore } from 'react';
import { parseRoute, routePath, withParams, type Route } from '../model/url-state.js';

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

function notify() {
  for (const listener of listeners) listener();
}

const snapshot = () => window.location.pathname + window.location.search;

export function useLocationKey(): string {
  return useSyncExternalStore(subscribe, snapshot);
}

export function navigateTo(url: string, options: { replace?: boolean } = {}): void {
  if (url === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  notify();
}

export function useRoute(): Route {
  const key = useLocationKey();
  return parseRoute(key.split('?')[0]);
}

export function useSearchParams(): [
  URLSearchParams,
  (changes: Record<string, string | number | null | undefined>, options?: { replace?: boolean }) => void,
] {
  const key = useLocationKey();
  const search = key.includes('?') ? key.slice(key.indexOf('?')) : '';
  const params = new URLSearchParams(search);
  const set = useCallback((changes: Record<string, string | number | null | undefined>, options: { replace?: boolean } = {}) => {
    const next = withParams(new URLSearchParams(window.location.search), changes).toString();
    navigateTo(`${window.location.pathname}${next ? `?${next}` : ''}`, options);
  }, []);
  return [params, set];
}

/** Parameters that follow the user from view to view (the window); filters and selection do not. */
export const SHARED_PARAMS = ['range', 'from', 'to'];

/** A link to a route that keeps the current time window. */
export function linkTo(route: Route, extra: Record<string, string | number> = {}): string {
  const current = new URLSearchParams(window.location.search);
  const params = new URLSearchParams();
  for (const key of SHARED_PARAMS) {
    const value = current.get(key);
    if (value !== null) params.set(key, value);
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, String(value));
  params.sort();
  const text = params.toString();
  return `${routePath(route)}${text ? `?${text}` : ''}`;
}
