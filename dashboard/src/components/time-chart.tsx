/**
 * A time-series line chart (recharts). Drag across it to select a window (Investigate uses the
 * selection); storm episodes or other areas are shaded with ReferenceArea.
 */
import { useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceArea, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatAxisTime, formatClock } from '../model/format.js';
import { formatValue, type TimeChartProps } from './chart-format.js';


export function TimeChart({ title, rows, series, unit, areas = [], onSelectWindow, height = 200 }: TimeChartProps) {
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const spanMs = rows.length > 1 ? rows[rows.length - 1].timeMs - rows[0].timeMs : 0;
  const label = (value: unknown) => (value === undefined || value === null || value === '' ? null : Number(value));
  return (
    <figure className="chart" data-chart={title}>
      <figcaption>
        {title}
        {onSelectWindow && <span className="hint"> · drag to select a window</span>}
      </figcaption>
      <ResponsiveContainer width="100%" height={height}>
        <LineChart
          data={rows}
          margin={{ top: 6, right: 12, bottom: 0, left: 0 }}
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
          <XAxis dataKey="timeMs" type="number" scale="time" domain={['dataMin', 'dataMax']} tickFormatter={(v: number) => formatAxisTime(v, spanMs)} tick={{ fontSize: 11 }} minTickGap={24} />
          <YAxis tickFormatter={(v: number) => formatValue(unit, v)} tick={{ fontSize: 11 }} width={58} allowDecimals={unit !== 'count'} />
          <Tooltip labelFormatter={(v) => formatClock(Number(v))} formatter={(v) => formatValue(unit, v as number)} isAnimationActive={false} />
          {series.length > 1 && <Legend wrapperStyle={{ fontSize: 11 }} />}
          {areas.map((area) => (
            <ReferenceArea key={area.id} x1={area.x1} x2={area.x2} fill={area.colour ?? '#d0252b'} fillOpacity={0.12} stroke={area.colour ?? '#d0252b'} strokeOpacity={0.4} label={{ value: area.label, position: 'insideTopRight', fontSize: 10, fill: area.colour ?? '#7a1010' }} ifOverflow="extendDomain" />
          ))}
          {series.map((s) => (
            <Line key={s.key} type="linear" dataKey={s.key} name={s.label} stroke={s.colour} strokeWidth={1.6} strokeDasharray={s.dashed ? '4 3' : undefined} dot={rows.length <= 30 || unit === 'ms' ? { r: 2 } : false} isAnimationActive={false} connectNulls={false} />
          ))}
          {drag && drag.from !== drag.to && <ReferenceArea x1={Math.min(drag.from, drag.to)} x2={Math.max(drag.from, drag.to)} fill="#1f6feb" fillOpacity={0.15} />}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
