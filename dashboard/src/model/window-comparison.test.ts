import { describe, expect, it } from 'vitest';
import { compareWindows, flowFiltersForChange, summarizeWindow } from './window-comparison.js';
import { makeBucket, makeTrends } from './testing/builders.js';

describe('summarizeWindow', () => {
  it('sums counts and weights latencies by processed attempts', () => {
    const summary = summarizeWindow(
      makeTrends([
        makeBucket({ timeMs: 0, processed: 3, retries: 1, processingP95Ms: 10 }),
        makeBucket({ timeMs: 60_000, processed: 1, retries: 2, processingP95Ms: 50 }),
      ]),
    );
    expect(summary.get('')).toMatchObject({ processed: 4, retries: 3, processingP95Ms: 20 });
  });
});

describe('compareWindows', () => {
  const previous = makeTrends([
    makeBucket({ timeMs: 0, group: 'billing', processed: 100, duplicateProcessings: 0, retries: 100 }),
    makeBucket({ timeMs: 0, group: 'shipping', processed: 100, retries: 1 }),
  ]);
  const current = makeTrends([
    makeBucket({ timeMs: 300_000, group: 'billing', processed: 101, duplicateProcessings: 30, retries: 104 }),
    makeBucket({ timeMs: 300_000, group: 'shipping', processed: 100, retries: 2 }),
  ]);
  const changes = compareWindows(current, previous);

  it('ranks a burst from nothing above small relative drifts and tiny counts', () => {
    expect(changes[0]).toMatchObject({ group: 'billing', metric: 'duplicateProcessings', previous: 0, current: 30, worse: true });
    const order = changes.map((c) => `${c.group}/${c.metric}`);
    expect(order.indexOf('shipping/retries')).toBeGreaterThan(order.indexOf('billing/duplicateProcessings'));
    expect(order).not.toContain('shipping/processed');
  });

  it('points at the flows behind a change', () => {
    expect(flowFiltersForChange(changes[0], 'service')).toEqual({ service: 'billing', anomaly: 'duplicate-processing' });
    expect(flowFiltersForChange({ group: 'Ship', metric: 'incompleteFlows' }, 'messageType')).toEqual({
      messageType: 'Ship',
      anomaly: 'lost-message',
      completion: 'incomplete',
    });
  });
});

describe('latencies without samples', () => {
  it('are not compared against zero', () => {
    const before = makeTrends([makeBucket({ timeMs: 0, processed: 0 })]);
    const after = makeTrends([makeBucket({ timeMs: 300_000, processed: 10, processingP95Ms: 800 })]);
    const changes = compareWindows(after, before);
    expect(changes.map((c) => c.metric)).toEqual(['processed']);
  });
});
