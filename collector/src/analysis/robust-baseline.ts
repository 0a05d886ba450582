/**
 * The robust baseline storms are judged against: median and spread of a trailing window of
 * per-bucket counts. The median ignores a burst that fills less than half the window, so one
 * earlier burst does not raise the bar for the next (a mean would). `TrailingWindow` keeps the
 * window sorted as it slides, so each bucket's baseline costs O(window) without sorting.
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

/** First index in ascending `sorted` whose value is not below `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sorted[mid] < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

function medianOfSorted(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const middle = n >> 1;
  return n % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The median of |x − centre| over ascending `sorted`: the deviations below the centre ascend
 * leftwards from it and those above ascend rightwards, so the k-th smallest is found by
 * merging the two runs from the centre out — no copy, no sort.
 */
function medianDeviationOfSorted(sorted: readonly number[], centre: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  let left = lowerBound(sorted, centre) - 1;
  let right = left + 1;
  const next = () => {
    const below = left >= 0 ? centre - sorted[left] : Infinity;
    const above = right < n ? sorted[right] - centre : Infinity;
    if (below <= above) {
      left -= 1;
      return below;
    }
    right += 1;
    return above;
  };
  const middle = n >> 1;
  let value = 0;
  let previous = 0;
  for (let k = 0; k <= middle; k += 1) {
    previous = value;
    value = next();
  }
  return n % 2 === 1 ? value : (previous + value) / 2;
}

/** The least spread a baseline of this median can have (Poisson noise). */
export function minimumSpread(centre: number): number {
  return Math.max(Math.sqrt(centre), 1);
}

function baselineOfSorted(sorted: readonly number[]): RobustBaseline {
  const centre = medianOfSorted(sorted);
  const mad = medianDeviationOfSorted(sorted, centre);
  return { median: centre, spread: Math.max(MAD_TO_SIGMA * mad, minimumSpread(centre)) };
}

export function median(values: readonly number[]): number {
  return medianOfSorted([...values].sort((a, b) => a - b));
}

export function robustBaseline(window: readonly number[]): RobustBaseline {
  return baselineOfSorted([...window].sort((a, b) => a - b));
}

/** How many spreads `value` lies above the baseline. */
export function scoreAbove(value: number, baseline: RobustBaseline): number {
  return (value - baseline.median) / baseline.spread;
}

/** The last `size` values pushed, kept sorted, with their robust baseline. */
export class TrailingWindow {
  private readonly arrival: number[] = [];
  private readonly sorted: number[] = [];

  constructor(private readonly size: number) {}

  push(value: number): void {
    if (this.arrival.length === this.size) {
      const oldest = this.arrival.shift()!;
      this.sorted.splice(lowerBound(this.sorted, oldest), 1);
    }
    this.arrival.push(value);
    this.sorted.splice(lowerBound(this.sorted, value), 0, value);
  }

  median(): number {
    return medianOfSorted(this.sorted);
  }

  baseline(): RobustBaseline {
    return baselineOfSorted(this.sorted);
  }
}
