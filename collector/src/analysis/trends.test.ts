import { describe, expect, it } from 'vitest';
import type { FlowBucketRow, SpanBucketRow } from '../store/span-store.js';
import { emptyMetrics, shapeTrends } from './trends.js';

const STEP = 60_000;
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);

function spanRow(minute: number, group: string, overrides: Partial<SpanBucketRow> = {}): SpanBucketRow {
  const {
    flowsCompleted: _a,
    flowCompletionP50Ms: _b,
    flowCompletionP95Ms: _c,
    incompleteFlows: _d,
    ghostMessages: _e,
    lostMessages: _f,
    inconsistentOutputs: _g,
    prematurePublishes: _h,
    ...metrics
  } = emptyMetrics();
  return { ...metrics, timeMs: T0 + minute * STEP, group, ...overrides };
}

function flowRow(minute: number, overrides: Partial<FlowBucketRow> = {}): FlowBucketRow {
  const zero = { flowsCompleted: 0, flowCompletionP50Ms: null, flowCompletionP95Ms: null, incompleteFlows: 0 };
  const anomalies = { ghostMessages: 0, lostMessages: 0, inconsistentOutputs: 0, prematurePublishes: 0 };
  return { timeMs: T0 + minute * STEP, group: '', ...zero, ...anomalies, ...overrides };
}

describe('shapeTrends', () => {
  const spanRows = [
    spanRow(1, '', { sent: 5, processed: 4, processingP50Ms: 12 }),
    spanRow(1, 'billing', { sent: 1, processed: 1 }),
    spanRow(1, 'orders', { sent: 4, processed: 3, duplicateDeliveries: 2 }),
    spanRow(3, 'orders', { sent: 2, retries: 1 }),
  ];
  const flowRows = [
    flowRow(1, { flowsCompleted: 2, flowCompletionP50Ms: 300, incompleteFlows: 1 }),
    flowRow(2, { ghostMessages: 1, lostMessages: 2, inconsistentOutputs: 3, prematurePublishes: 4 }),
  ];
  const trends = shapeTrends(spanRows, flowRows, { fromMs: T0 + 30_000, toMs: T0 + 5 * STEP, stepMs: STEP, by: 'service' });
  const totals = trends.buckets.filter((b) => b.group === '');

  it('has a totals row for every bucket of the window, zero-filled', () => {
    expect(totals.map((b) => (b.timeMs - T0) / STEP)).toEqual([0, 1, 2, 3, 4]);
    expect(totals[0]).toMatchObject({ sent: 0, processed: 0, processingP50Ms: null, flowsCompleted: 0 });
  });

  it('merges span and flow figures of the same bucket', () => {
    expect(totals[1]).toMatchObject({
      sent: 5,
      processed: 4,
      processingP50Ms: 12,
      flowsCompleted: 2,
      flowCompletionP50Ms: 300,
      incompleteFlows: 1,
    });
  });

  it('puts the anomaly counts of a bucket without spans on its totals row', () => {
    expect(totals[2]).toMatchObject({ sent: 0, ghostMessages: 1, lostMessages: 2, inconsistentOutputs: 3, prematurePublishes: 4 });
    expect(totals[1]).toMatchObject({ ghostMessages: 0, prematurePublishes: 0 });
  });

  it('derives missing totals from the groups, without quantiles', () => {
    expect(totals[3]).toMatchObject({ sent: 2, retries: 1, processingP50Ms: null });
  });

  it('keeps group rows only where they have data, and lists groups by volume', () => {
    expect(trends.groups).toEqual(['orders', 'billing']);
    expect(trends.buckets.filter((b) => b.group !== '').map((b) => [(b.timeMs - T0) / STEP, b.group])).toEqual([
      [1, 'orders'],
      [1, 'billing'],
      [3, 'orders'],
    ]);
    expect(trends).toMatchObject({ by: 'service', stepMs: STEP, fromMs: T0 + 30_000, toMs: T0 + 5 * STEP });
  });

  it('orders buckets by time with the totals first', () => {
    const keys = trends.buckets.map((b) => b.timeMs);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(trends.buckets[1]).toMatchObject({ timeMs: T0 + STEP, group: '' });
  });
});
