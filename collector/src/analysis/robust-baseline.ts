/**
 * The robust baseline storms are judged against: median and spread of a trailing window of
 * per-bucket counts. The median ignores a burst that fills less than half the window, so one
 * earlier burst does not raise the bar for the next (a mean would).
 */

/** Scales a median absolute deviation to a standard deviation for normally distributed counts. */
const MAD_TO_SIGMA = 1.4826;

export interface RobustBaseline {
  /** Median count per bucket. */
  median: number;
  /**
   * Spread per bucket: the scaled median absolute deviation, but never below Poisson noise
   * (√median, and at least 1) — a perfectly steady series would otherwise have a spread of 0
   * and make any wobble infinitely far above normal.
   */
  spread: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function robustBaseline(window: readonly number[]): RobustBaseline {
  const centre = median(window);
  const mad = median(window.map((value) => Math.abs(value - centre)));
  return { median: centre, spread: Math.max(MAD_TO_SIGMA * mad, Math.sqrt(centre), 1) };
}

/** How many spreads `value` lies above the baseline. */
export function scoreAbove(value: number, baseline: RobustBaseline): number {
  return (value - baseline.median) / baseline.spread;
}
