/**
 * Live updates: one EventSource on `/api/live`. Events invalidate the queries they concern
 * (throttled), so views refetch with their own window and filters instead of trusting a
 * server-side window. A `flow` event also refreshes that flow's detail if it is open.
 * Returns whether the stream is connected.
 */
import { LiveEventSchemas } from '@onceflow/collector/contract';
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useApiToken } from './use-api-token.js';
import { queryKeys } from './use-api.js';

const THROTTLE_MS = 2000;

/** The conversation a `flow` event is about; null when its data is not a flow summary (the lists still refetch). */
function conversationOf(data: string): string | null {
  try {
    const flow = LiveEventSchemas.flow.safeParse(JSON.parse(data));
    return flow.success && flow.data.conversationId ? flow.data.conversationId : null;
  } catch {
    return null;
  }
}

export function useLiveUpdates(): boolean {
  const client = useQueryClient();
  const [connected, setConnected] = useState(false);
  const { token } = useApiToken();
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    // EventSource cannot send an Authorization header: the live stream takes the token in the URL.
    const source = new EventSource(token ? `/api/live?token=${encodeURIComponent(token)}` : '/api/live');
    const pending = new Map<string, QueryKey>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const schedule = (...keys: QueryKey[]) => {
      for (const key of keys) pending.set(JSON.stringify(key), key);
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        for (const key of pending.values()) void client.invalidateQueries({ queryKey: key });
        pending.clear();
      }, THROTTLE_MS);
    };
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    source.addEventListener('topology', () => schedule(['topology']));
    source.addEventListener('flow', (event) => {
      const conversationId = conversationOf((event as MessageEvent<string>).data);
      schedule(['flows'], ['trends'], ...(conversationId ? [queryKeys.flow(conversationId)] : []));
    });
    for (const name of ['anomaly', 'anomaly-withdrawn'])
      source.addEventListener(name, () => schedule(['flows'], ['anomalies'], ['storms']));
    return () => {
      if (timer) clearTimeout(timer);
      source.close();
    };
  }, [client, token]);
  return connected;
}
