/**
 * Investigate: pick a window (drag on the chart, or any preset), compare it with the window of
 * the same length just before, and list what changed most per metric and group, each with a
 * link to the affected flows in that window.
 */
import { useMemo } from 'react';
import { Link } from '../components/link.js';
import { Empty, ErrorState, Loading } from '../components/status.js';
import { formatValue } from '../components/chart-format.js';
import { TimeChart } from '../components/lazy.js';
import { useTrends } from '../hooks/use-api.js';
import { linkTo, useSearchParams } from '../hooks/use-location.js';
import { useTimeWindow } from '../hooks/use-time-window.js';
import { formatDateTime, formatPercent } from '../model/format.js';
import { METRICS, totalsSeries } from '../model/trend-series.js';
import { parseGrouping, pickStep, previousWindow } from '../model/url-state.js';
import { compareWindows, flowFiltersForChange } from '../model/window-comparison.js';
import { openInvestigation } from './trends-view.js';

export function InvestigateView() {
  const { timeWindow } = useTimeWindow();
  const [params, setParams] = useSearchParams();
  const by = parseGrouping(params.get('by'));
  const before = previousWindow(timeWindow);
  const stepMs = pickStep(timeWindow, 30);
  const context = { fromMs: before.fromMs, toMs: timeWindow.toMs };
  const current = useTrends(timeWindow, stepMs, by);
  const previous = useTrends(before, stepMs, by);
  const overview = useTrends(context, stepMs, by);
  const changes = useMemo(
    () => (current.data && previous.data ? compareWindows(current.data, previous.data, 40) : []),
    [current.data, previous.data],
  );
  const rows = useMemo(
    () => (overview.data ? totalsSeries(overview.data, ['processed', 'duplicateProcessings', 'failures', 'retries']) : []),
    [overview.data],
  );

  const loading = current.isPending || previous.isPending;
  const error = current.error ?? previous.error;
  return (
    <div className="page">
      <p className="muted">
        Comparing{' '}
        <strong>
          {formatDateTime(timeWindow.fromMs)} → {formatDateTime(timeWindow.toMs)}
        </strong>{' '}
        with the window before it ({formatDateTime(before.fromMs)} → {formatDateTime(before.toMs)}). Drag across the chart to pick another
        window.
      </p>
      <TimeChart
        title="Selected window (shaded) and the window before"
        rows={rows}
        unit="count"
        series={[
          { key: 'processed', label: 'Processed', colour: '#1f6feb' },
          { key: 'failures', label: 'Failures', colour: '#e0641b' },
          { key: 'retries', label: 'Retries', colour: '#d39a00' },
          { key: 'duplicateProcessings', label: 'Duplicate processings', colour: '#d0252b' },
        ]}
        areas={[{ id: 'selected', x1: timeWindow.fromMs, x2: timeWindow.toMs, label: 'selected', colour: '#1f6feb' }]}
        onSelectWindow={openInvestigation}
        height={220}
      />
      <div className="controls">
        <label>
          Compare by
          <select value={by} onChange={(e) => setParams({ by: e.target.value })}>
            <option value="service">service</option>
            <option value="messageType">message type</option>
            <option value="destination">destination</option>
          </select>
        </label>
      </div>
      {loading ? (
        <Loading what="the comparison" />
      ) : error ? (
        <ErrorState error={error} what="the comparison" />
      ) : changes.length === 0 ? (
        <Empty>Nothing changed between the two windows (or neither has data).</Empty>
      ) : (
        <table className="table changes">
          <thead>
            <tr>
              <th>{by === 'messageType' ? 'Message type' : by === 'service' ? 'Service' : 'Destination'}</th>
              <th>Metric</th>
              <th className="num">Before</th>
              <th className="num">Selected</th>
              <th className="num">Change</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {changes.map((change) => {
              const unit = METRICS[change.metric].unit;
              return (
                <tr key={`${change.group}/${change.metric}`} className={change.worse ? 'worse' : 'better'}>
                  <td>{change.group || 'all'}</td>
                  <td>{METRICS[change.metric].label}</td>
                  <td className="num">{formatValue(unit, change.previous)}</td>
                  <td className="num">{formatValue(unit, change.current)}</td>
                  <td className="num delta">
                    {change.delta > 0 ? '+' : ''}
                    {formatValue(unit, change.delta)}{' '}
                    {Number.isFinite(change.relative) ? `(${change.relative > 0 ? '+' : ''}${formatPercent(change.relative)})` : '(new)'}
                  </td>
                  <td>
                    <Link
                      href={linkTo(
                        { view: 'flows' },
                        { ...flowFiltersForChange(change, by), from: timeWindow.fromMs, to: timeWindow.toMs },
                      )}
                    >
                      flows →
                    </Link>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
