/**
 * A time-series line chart (recharts). Drag across it to select a window (Investigate uses the
 * selection); storm episodes or other areas are shaded as bands with non-overlapping labels
 * (chart-bands.tsx), named on hover and followed on click.
 */
import { useCallback, useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceArea, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatAxisTime, formatClock } from '../model/format.js';
import { ChartBands, LANE_HEIGHT, lanesFor } from './chart-bands.js';
import { formatValue, type ChartArea, type TimeChartProps } from './chart-format.js';

export function TimeChart({ title, rows, series, unit, areas = [], onSelectWindow, height = 200 }: TimeChartProps) {
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const [hovered, setHovered] = useState<ChartArea | null>(null);
  const [hiddenLabels, setHiddenLabels] = useState(0);
  const onHiddenLabels = useCallback((count: number) => setHiddenLabels(count), []);
  const spanMs = rows.length > 1 ? rows[rows.length - 1].timeMs - rows[0].timeMs : 0;
  const label = (value: unknown) => (value === undefined || value === null || value === '' ? null : Number(value));
  return (
    <figure className="chart" data-chart={title}>
      <figcaption>
        {title}
        {onSelectWindow && <span className="hint"> · drag to select a window</span>}
        {hiddenLabels > 0 && <span className="hint"> · {hiddenLabels} more unlabelled (hover a band, or see the table)</span>}
      </figcaption>
      {areas.length > 0 && (
        <div className="band-hover" aria-live="polite">
          {hovered
            ? (hovered.title ?? hovered.label)
            : `Hover a band to name it${areas.some((a) => a.href) ? '; click it to open it' : ''}.`}
        </div>
      )}
      <ResponsiveContainer width="100%" height={height}>
        <LineChart
          data={rows}
          margin={{ top: 6 + lanesFor(areas.length) * LANE_HEIGHT, right: 12, bottom: 0, left: 0 }}
          onMouseDown={(state) => {
            const at = label(state?.activeLabel);
            if (onSelectWindow && at !== null) setDrag({ from: at, to: at });
          }}
          onMouseMove={(state) => {
            const at = label(state?.activeLabel);
            if (drag && at !== null) setDrag({ ...drag, to: at });
          }}
          onMouseUp={() => {
            if (drag && onSelectWindow && drag.from !== drag.to) {
              const step = rows.length > 1 ? rows[1].timeMs - rows[0].timeMs : 0;
              onSelectWindow(Math.min(drag.from, drag.to), Math.max(drag.from, drag.to) + step);
            }
            setDrag(null);
          }}
        >
          <CartesianGrid stroke="#e3e8ee" vertical={false} />
          <XAxis
            dataKey="timeMs"
            type="number"
            scale="time"
            domain={['dataMin', 'dataMax']}
            tickFormatter={(v: number) => formatAxisTime(v, spanMs)}
            tick={{ fontSize: 11 }}
            minTickGap={24}
          />
          <YAxis tickFormatter={(v: number) => formatValue(unit, v)} tick={{ fontSize: 11 }} width={58} allowDecimals={unit !== 'count'} />
          <Tooltip
            labelFormatter={(v) => formatClock(Number(v))}
            formatter={(v) => formatValue(unit, v as number)}
            isAnimationActive={false}
          />
          {series.length > 1 && <Legend wrapperStyle={{ fontSize: 11 }} />}
          <ChartBands areas={areas} onHover={setHovered} onHiddenLabels={onHiddenLabels} />
          {series.map((s) => (
            <Line
              key={s.key}
              type="linear"
              dataKey={s.key}
              name={s.label}
              stroke={s.colour}
              strokeWidth={1.6}
              strokeDasharray={s.dashed ? '4 3' : undefined}
              dot={rows.length <= 30 || unit === 'ms' ? { r: 2 } : false}
              isAnimationActive={false}
              connectNulls={false}
            />
          ))}
          {drag && drag.from !== drag.to && (
            <ReferenceArea x1={Math.min(drag.from, drag.to)} x2={Math.max(drag.from, drag.to)} fill="#1f6feb" fillOpacity={0.15} />
          )}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
