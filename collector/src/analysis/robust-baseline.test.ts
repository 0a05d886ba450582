import { describe, expect, it } from 'vitest';
import { median, robustBaseline, scoreAbove, TrailingWindow } from './robust-baseline.js';

describe('robustBaseline', () => {
  it.each([
    // values                        median  spread: 1.4826 × MAD, at least √median and 1
    { values: [10, 10, 10, 10, 10], median: 10, spread: Math.sqrt(10) },
    { values: [0, 0, 0, 0], median: 0, spread: 1 },
    // MAD 1 (deviations 0 0 1 1 95): 1.4826 is below Poisson noise √5.
    { values: [4, 6, 5, 100, 5], median: 5, spread: Math.sqrt(5) },
    { values: [10, 20, 30, 40, 50, 60], median: 35, spread: 1.4826 * 15 },
    { values: [], median: 0, spread: 1 },
  ])('of $values is median $median, spread $spread', ({ values, median: centre, spread }) => {
    const baseline = robustBaseline(values);
    expect(baseline.median).toBe(centre);
    expect(baseline.spread).toBeCloseTo(spread, 9);
  });

  it('is not moved by one burst in the window, where a mean would be', () => {
    const calm = [10, 11, 9, 10, 12, 10, 9, 11, 10, 10];
    const withBurst = [...calm.slice(0, 9), 500];
    expect(robustBaseline(withBurst).median).toBe(robustBaseline(calm).median);
    expect(scoreAbove(100, robustBaseline(withBurst))).toBeGreaterThan(20);
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('TrailingWindow', () => {
  it('gives the baseline of the last `size` values pushed, as the values slide through', () => {
    // Deterministic noise with ties, zeros and bursts.
    const values = Array.from({ length: 400 }, (_, i) => ((i * 7919) % 13) + (i % 50 === 0 ? 90 : 0) - (i % 17 === 0 ? 3 : 0));
    for (const size of [1, 2, 5, 30]) {
      const window = new TrailingWindow(size);
      values.forEach((value, i) => {
        window.push(value);
        const expected = robustBaseline(values.slice(Math.max(0, i + 1 - size), i + 1));
        expect(window.baseline(), `size ${size} at ${i}`).toEqual(expected);
        expect(window.median()).toBe(expected.median);
      });
    }
  });
});
