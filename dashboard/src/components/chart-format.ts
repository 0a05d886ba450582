/** Chart props, palette and value formatting, apart from recharts so views need not load it. */
import { formatBytes, formatCount, formatDuration } from '../model/format.js';
import type { MetricUnit, SeriesRow } from '../model/trend-series.js';

export interface ChartSeries {
  key: string;
  label: string;
  colour: string;
  dashed?: boolean;
}

/** A shaded time range (a storm episode, a selected window) with one label above the plot. */
export interface ChartArea {
  id: string;
  x1: number;
  x2: number;
  label: string;
  /** Drawn instead of the label where that has no room (e.g. a rank). */
  shortLabel?: string;
  /** Names the area on hover (default: the label). */
  title?: string;
  colour?: string;
  /** Where a click on the area leads. */
  href?: string;
  dashed?: boolean;
}

export interface TimeChartProps {
  title: string;
  rows: SeriesRow[];
  series: ChartSeries[];
  unit: MetricUnit;
  areas?: ChartArea[];
  onSelectWindow?: (fromMs: number, toMs: number) => void;
  height?: number;
}

export const PALETTE = ['#1f6feb', '#d0252b', '#d39a00', '#178a7a', '#7a1fa2', '#e0641b', '#5a6b7f', '#2da44e'];

export function formatValue(unit: MetricUnit, value: number | null | undefined): string {
  if (value == null) return '–';
  return unit === 'ms' ? formatDuration(value) : unit === 'bytes' ? formatBytes(value) : formatCount(value);
}
