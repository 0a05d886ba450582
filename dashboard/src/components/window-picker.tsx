/** The time window control: relative presets, or the absolute window a chart selection set. */
import { useSearchParams } from '../hooks/use-location.js';
import { useTimeWindow } from '../hooks/use-time-window.js';
import { formatDateTime } from '../model/format.js';
import { RANGE_PRESETS } from '../model/url-state.js';

export function WindowPicker() {
  const [, setParams] = useSearchParams();
  const { spec, timeWindow } = useTimeWindow();
  return (
    <div className="window-picker" aria-label="Time window">
      {RANGE_PRESETS.map((range) => (
        <button
          key={range}
          type="button"
          className={spec.kind === 'relative' && spec.range === range ? 'active' : ''}
          onClick={() => setParams({ range, from: null, to: null })}
        >
          {range}
        </button>
      ))}
      <span className="window-range" data-testid="window-range" title="Selected window (local time)">
        {spec.kind === 'absolute' ? `${formatDateTime(timeWindow.fromMs)} → ${formatDateTime(timeWindow.toMs)}` : `last ${spec.range}`}
      </span>
    </div>
  );
}
