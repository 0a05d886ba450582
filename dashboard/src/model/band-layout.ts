/**
 * Where a chart's bands and their labels go. Bands that overlap in time share the plot's
 * height, each in its own slice, so every one can be seen, hovered and clicked.
 *
 * The labels so that no two overlap: each label is cut to a maximum
 * width and starts at its band's left edge (kept inside the plot) in the first lane above the
 * plot that is free there. When every lane is taken at that point (bands close together), it
 * moves sideways to the nearest free place in any lane, no further than `maxShift` from its
 * band (a leader line joins them) — first with its text, then with its short text (the rank).
 * A label that still finds no room is not drawn: its band is still there, named on hover and
 * listed in the view's table. Pure: text widths come from `measure` (canvas metrics in the
 * browser).
 */

export interface BandSpan {
  id: string;
  /** Pixels, in the chart's coordinates. */
  left: number;
  right: number;
  text: string;
  /** Tried when `text` finds no room, e.g. the episode's rank. */
  shortText?: string;
}

export interface PlacedLabel {
  id: string;
  text: string;
  x: number;
  width: number;
  /** 0 is the lane right above the plot. */
  lane: number;
  /** Where its band starts (the leader's foot when the label had to move). */
  anchor: number;
}

export interface LabelLayoutOptions {
  plotLeft: number;
  plotRight: number;
  maxLanes: number;
  /** Widest label in pixels; longer text is cut with an ellipsis. */
  maxWidth: number;
  /** Horizontal padding inside the label box, both sides together. */
  padding: number;
  /** Free pixels between two labels in one lane. */
  gap: number;
  /** How far sideways from its band a label may move to find room. */
  maxShift: number;
  measure: (text: string) => number;
}

export interface LabelLayout {
  placed: PlacedLabel[];
  /** Bands whose label has no room. */
  hidden: string[];
}

/** `text`, or its longest prefix with an ellipsis that fits `maxWidth`. */
export function truncateToWidth(text: string, maxWidth: number, measure: (text: string) => number): string {
  if (measure(text) <= maxWidth) return text;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (measure(`${text.slice(0, mid)}…`) <= maxWidth) low = mid;
    else high = mid - 1;
  }
  return `${text.slice(0, low).trimEnd()}…`;
}

interface Interval {
  start: number;
  end: number;
}

export function layoutBandLabels(bands: readonly BandSpan[], options: LabelLayoutOptions): LabelLayout {
  const { plotLeft, plotRight, maxLanes, padding, gap, maxShift, measure } = options;
  const maxText = Math.max(0, Math.min(options.maxWidth, plotRight - plotLeft) - padding);
  const lanes: Interval[][] = [];
  const placed: PlacedLabel[] = [];
  const hidden: string[] = [];
  const clampX = (x: number, width: number) => Math.max(plotLeft, Math.min(x, plotRight - width));
  const isFree = (lane: Interval[], x: number, width: number) =>
    lane.every((taken) => x + width + gap <= taken.start || x >= taken.end + gap);

  /** The free place nearest to `anchor` (least shift, then lowest lane), or null. */
  const findRoom = (anchor: number, width: number): { lane: number; x: number } | null => {
    const wanted = clampX(anchor, width);
    let best: { lane: number; x: number; shift: number } | null = null;
    for (let lane = 0; lane < Math.min(lanes.length + 1, maxLanes); lane += 1) {
      const taken = lanes[lane] ?? [];
      const candidates = [wanted, ...taken.flatMap((t) => [t.end + gap, t.start - gap - width])];
      for (const candidate of candidates) {
        const x = clampX(candidate, width);
        const shift = Math.abs(x - wanted);
        if (shift > maxShift || !isFree(taken, x, width)) continue;
        if (!best || shift < best.shift) best = { lane, x, shift };
      }
    }
    return best;
  };

  const ordered = [...bands].sort((a, b) => a.left - b.left || a.right - b.right || (a.id < b.id ? -1 : 1));
  for (const band of ordered) {
    const candidates = [band.text, band.shortText].filter((text): text is string => text !== undefined);
    let done = false;
    for (const candidate of candidates) {
      const text = truncateToWidth(candidate, maxText, measure);
      const width = Math.ceil(measure(text)) + padding;
      const room = findRoom(band.left, width);
      if (!room) continue;
      (lanes[room.lane] ??= []).push({ start: room.x, end: room.x + width });
      placed.push({ id: band.id, text, x: room.x, width, lane: room.lane, anchor: Math.max(plotLeft, Math.min(band.left, plotRight)) });
      done = true;
      break;
    }
    if (!done) hidden.push(band.id);
  }
  return { placed, hidden };
}

export interface BandSlice {
  /** 0 is the top slice. */
  slice: number;
  /** Slices the plot height is cut into where this band is (its cluster of overlapping bands). */
  slices: number;
}

/** Slices for bands overlapping in time: the first free slice, within clusters of overlapping bands. */
export function sliceOverlappingBands(bands: readonly { id: string; left: number; right: number }[]): Map<string, BandSlice> {
  const ordered = [...bands].sort((a, b) => a.left - b.left || a.right - b.right || (a.id < b.id ? -1 : 1));
  const result = new Map<string, BandSlice>();
  let cluster: { id: string; slice: number }[] = [];
  let clusterEnd = -Infinity;
  let sliceEnds: number[] = [];
  const closeCluster = () => {
    for (const member of cluster) result.set(member.id, { slice: member.slice, slices: sliceEnds.length });
    cluster = [];
    sliceEnds = [];
  };
  for (const band of ordered) {
    if (band.left >= clusterEnd) closeCluster();
    let slice = sliceEnds.findIndex((end) => end <= band.left);
    if (slice === -1) slice = sliceEnds.length;
    sliceEnds[slice] = band.right;
    clusterEnd = Math.max(clusterEnd, band.right);
    cluster.push({ id: band.id, slice });
  }
  closeCluster();
  return result;
}
