/**
 * The shaded bands of a time chart (storm episodes, a selected window), drawn inside the
 * recharts plot with its own x scale: one rectangle per band (bands overlapping in time share
 * the height, each in its own slice), and one label per band in the lanes above the plot, laid
 * out by `layoutBandLabels` so that no two labels overlap. Hovering
 * a band names it (through `onHover`); clicking it follows its `href`.
 */
import { useEffect, useMemo, useState } from 'react';
import { usePlotArea, useXAxisScale } from 'recharts';
import { navigateTo } from '../hooks/use-location.js';
import { layoutBandLabels, sliceOverlappingBands } from '../model/band-layout.js';
import type { ChartArea } from './chart-format.js';

export const LANE_HEIGHT = 16;
export const MAX_LANES = 3;
const LABEL_FONT = '10px "Inter", "Segoe UI", system-ui, sans-serif';
const DEFAULT_COLOUR = '#d0252b';

/** Lanes reserved above the plot for `count` band labels. */
export const lanesFor = (count: number) => Math.min(MAX_LANES, count);

function textMeasurer(): (text: string) => number {
  const context = document.createElement('canvas').getContext('2d');
  if (!context) return (text) => text.length * 6;
  context.font = LABEL_FONT;
  return (text) => context.measureText(text).width;
}

interface ChartBandsProps {
  areas: ChartArea[];
  onHover: (area: ChartArea | null) => void;
  /** How many labels found no lane (their bands are still drawn). */
  onHiddenLabels: (count: number) => void;
}

export function ChartBands({ areas, onHover, onHiddenLabels }: ChartBandsProps) {
  const plot = usePlotArea();
  const scale = useXAxisScale();
  const [measure] = useState(textMeasurer);
  const [hovered, setHovered] = useState<string | null>(null);

  const spans = useMemo(() => {
    if (!plot || !scale) return [];
    const clamp = (x: number) => Math.max(plot.x, Math.min(plot.x + plot.width, x));
    return areas.flatMap((area) => {
      const x1 = scale(area.x1);
      const x2 = scale(area.x2);
      if (x1 === undefined || x2 === undefined) return [];
      const left = clamp(Math.min(x1, x2));
      const right = clamp(Math.max(x1, x2));
      return right > left ? [{ area, left, right: Math.max(right, left + 2) }] : [];
    });
  }, [areas, plot, scale]);

  const layout = useMemo(
    () =>
      plot
        ? layoutBandLabels(
            spans.map(({ area, left, right }) => ({ id: area.id, left, right, text: area.label, shortText: area.shortLabel })),
            {
              plotLeft: plot.x,
              plotRight: plot.x + plot.width,
              maxLanes: lanesFor(areas.length),
              maxWidth: 170,
              padding: 8,
              gap: 4,
              maxShift: 240,
              measure,
            },
          )
        : { placed: [], hidden: [] },
    [spans, plot, areas.length, measure],
  );
  const slices = useMemo(() => sliceOverlappingBands(spans.map(({ area, left, right }) => ({ id: area.id, left, right }))), [spans]);
  useEffect(() => onHiddenLabels(layout.hidden.length), [layout.hidden.length, onHiddenLabels]);

  if (!plot) return null;
  const enter = (area: ChartArea) => {
    setHovered(area.id);
    onHover(area);
  };
  const leave = () => {
    setHovered(null);
    onHover(null);
  };
  const open = (area: ChartArea) => area.href && navigateTo(area.href);
  const byId = new Map(spans.map((span) => [span.area.id, span]));

  return (
    <g className="chart-bands">
      {spans.map(({ area, left, right }) => {
        const colour = area.colour ?? DEFAULT_COLOUR;
        const { slice, slices: count } = slices.get(area.id) ?? { slice: 0, slices: 1 };
        const height = plot.height / count;
        return (
          <rect
            key={area.id}
            className="chart-band"
            data-band={area.id}
            x={left}
            y={plot.y + slice * height}
            width={right - left}
            height={height}
            fill={colour}
            fillOpacity={hovered === area.id ? 0.28 : 0.12}
            stroke={colour}
            strokeOpacity={0.5}
            strokeDasharray={area.dashed ? '4 3' : undefined}
            style={{ cursor: area.href ? 'pointer' : undefined }}
            onMouseEnter={() => enter(area)}
            onMouseLeave={leave}
            onClick={() => open(area)}
          >
            <title>{area.title ?? area.label}</title>
          </rect>
        );
      })}
      {/* Leaders first: a label in a lower lane covers the leader of one above it. */}
      {layout.placed.map((label) => {
        const span = byId.get(label.id)!;
        const top = plot.y - (label.lane + 1) * LANE_HEIGHT + 1;
        return (
          <line
            key={label.id}
            x1={label.anchor}
            x2={Math.max(label.x + 1, Math.min(label.anchor, label.x + label.width - 1))}
            y1={plot.y}
            y2={top + LANE_HEIGHT - 2}
            stroke={span.area.colour ?? DEFAULT_COLOUR}
            strokeOpacity={0.6}
          />
        );
      })}
      {layout.placed.map((label) => {
        const span = byId.get(label.id)!;
        const colour = span.area.colour ?? DEFAULT_COLOUR;
        const top = plot.y - (label.lane + 1) * LANE_HEIGHT + 1;
        return (
          <g
            key={label.id}
            className="chart-band-label"
            data-band={label.id}
            style={{ cursor: span.area.href ? 'pointer' : undefined }}
            onMouseEnter={() => enter(span.area)}
            onMouseLeave={leave}
            onClick={() => open(span.area)}
          >
            <title>{span.area.title ?? span.area.label}</title>
            <rect
              x={label.x}
              y={top}
              width={label.width}
              height={LANE_HEIGHT - 2}
              rx={2}
              fill="#ffffff"
              stroke={colour}
              strokeOpacity={hovered === label.id ? 1 : 0.6}
            />
            <text x={label.x + 4} y={top + LANE_HEIGHT - 5} fontSize={10} fontFamily={LABEL_FONT.replace(/^10px /, '')} fill={colour}>
              {label.text}
            </text>
          </g>
        );
      })}
    </g>
  );
}
