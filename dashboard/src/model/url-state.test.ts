import { describe, expect, it } from 'vitest';
import {
  flowQueryParams,
  parseFlowFilters,
  parseRoute,
  parseWindowSpec,
  pickStep,
  previousWindow,
  resolveWindow,
  routePath,
  withParams,
  type Route,
} from './url-state.js';

describe('routes', () => {
  it.each<[string, Route]>([
    ['/', { view: 'map' }],
    ['/flows', { view: 'flows' }],
    ['/flows/conv%2F1', { view: 'flow', conversationId: 'conv/1' }],
    ['/storms', { view: 'storms' }],
    ['/trends', { view: 'trends' }],
    ['/investigate', { view: 'investigate' }],
    ['/coverage', { view: 'coverage' }],
    ['/nope/x', { view: 'not-found', path: '/nope/x' }],
  ])('%s parses and prints back', (path, route) => {
    expect(parseRoute(path)).toEqual(route);
    if (route.view !== 'not-found') expect(parseRoute(routePath(route))).toEqual(route);
  });
});

describe('time window', () => {
  it('defaults to the last hour, aligned so re-renders share a query key', () => {
    const spec = parseWindowSpec(new URLSearchParams(''));
    expect(spec).toEqual({ kind: 'relative', range: '1h', ms: 3_600_000 });
    const a = resolveWindow(spec, 1_000_001);
    const b = resolveWindow(spec, 1_009_999);
    expect(a).toEqual(b);
    expect(a.toMs - a.fromMs).toBe(3_600_000);
    expect(a.toMs).toBeGreaterThanOrEqual(1_009_999);
  });

  it('prefers an absolute from/to and ignores a malformed one', () => {
    expect(parseWindowSpec(new URLSearchParams('from=100&to=200&range=5m'))).toEqual({
      kind: 'absolute',
      fromMs: 100,
      toMs: 200,
    });
    expect(parseWindowSpec(new URLSearchParams('from=300&to=200&range=5m'))).toMatchObject({ range: '5m' });
    expect(parseWindowSpec(new URLSearchParams('range=banana'))).toMatchObject({ range: '1h' });
  });

  it('compares against the window of equal length just before', () => {
    expect(previousWindow({ fromMs: 1000, toMs: 1600 })).toEqual({ fromMs: 400, toMs: 1000 });
  });

  it('picks a nice bucket size giving about sixty buckets', () => {
    expect(pickStep({ fromMs: 0, toMs: 3_600_000 })).toBe(60_000);
    expect(pickStep({ fromMs: 0, toMs: 15 * 60_000 })).toBe(15_000);
    expect(pickStep({ fromMs: 0, toMs: 7 * 86_400_000 })).toBe(10_800_000);
  });
});

describe('flow filters', () => {
  it('round-trips through the URL and maps completion to the API state', () => {
    const params = withParams(new URLSearchParams('range=1h'), {
      anomaly: 'lost-message',
      completion: 'incomplete',
      verdict: 'unknown',
      service: 'billing',
      q: '',
    });
    const filters = parseFlowFilters(params);
    expect(filters).toEqual({
      q: '',
      service: 'billing',
      messageType: '',
      anomaly: 'lost-message',
      completion: 'incomplete',
      verdict: 'unknown',
    });
    expect(flowQueryParams(filters)).toEqual({ service: 'billing', anomaly: 'lost-message', state: 'incomplete', verdict: 'unknown' });
  });

  it('drops unknown verdicts instead of sending them to the API', () => {
    expect(parseFlowFilters(new URLSearchParams('verdict=maybe')).verdict).toBe('');
  });

  it('drops unknown anomaly kinds instead of sending them to the API', () => {
    expect(parseFlowFilters(new URLSearchParams('anomaly=<script>')).anomaly).toBe('');
  });

  it('deletes keys set to empty and keeps a stable order', () => {
    const params = withParams(new URLSearchParams('b=2&a=1'), { b: null, c: 3 });
    expect(params.toString()).toBe('a=1&c=3');
  });
});
