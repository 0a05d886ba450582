/**
 * Live updates: one EventSource on `/api/live`. Events invalidate the queries they concern
 * (throttled), so views refetch with their own window and filters instead of trusting a
 * server-side window. Returns whether the stream is connected.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

const THROTTLE_MS = 2000;

export function useLiveUpdates(): boolean {
  const client = useQueryClient();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource('/api/live');
    const pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const schedule = (...roots: string[]) => {
      for (const root of roots) pending.add(root);
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        for (const root of pending) void client.invalidateQueries({ queryKey: [root] });
        pending.clear();
      }, THROTTLE_MS);
    };
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    source.addEventListener('topology', () => schedule('topology'));
    source.addEventListener('flow', () => schedule('flows', 'trends'));
    source.addEventListener('anomaly', () => schedule('flows', 'anomalies', 'storms'));
    return () => {
      if (timer) clearTimeout(timer);
      source.close();
    };
  }, [client]);
  return connected;
}
