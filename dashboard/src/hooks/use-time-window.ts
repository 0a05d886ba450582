/**
 * The time window every view queries: from the URL (`range` or `from`/`to`). A relative window
 * moves forward every `REFRESH_MS`, which changes the query keys and so refreshes the data.
 */
import { useEffect, useState } from 'react';
import { parseWindowSpec, pickStep, resolveWindow, type TimeWindow, type WindowSpec } from '../model/url-state.js';
import { useSearchParams } from './use-location.js';

export const REFRESH_MS = 10_000;

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), REFRESH_MS);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

export interface TimeWindowState {
  spec: WindowSpec;
  timeWindow: TimeWindow;
  stepMs: number;
}

export function useTimeWindow(): TimeWindowState {
  const [params] = useSearchParams();
  const spec = parseWindowSpec(params);
  const now = useNow(spec.kind === 'relative');
  // Query keys use the bounds' values, so a fresh object per render refetches nothing.
  const timeWindow = resolveWindow(spec, now, REFRESH_MS);
  return { spec, timeWindow, stepMs: pickStep(timeWindow) };
}
