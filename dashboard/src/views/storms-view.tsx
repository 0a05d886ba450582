/**
 * Duplicates & storms: duplicate deliveries (handled) against duplicate processings (bugs) over
 * time, storm episodes shaded on the charts, and the services, message types and message ids
 * that offend most.
 */
import { useMemo } from 'react';
import { Link } from '../components/link.js';
import { Empty, ErrorState, Loading } from '../components/status.js';
import { TimeChart } from '../components/lazy.js';
import { useStorms, useTrends } from '../hooks/use-api.js';
import { linkTo } from '../hooks/use-location.js';
import { useTimeWindow } from '../hooks/use-time-window.js';
import { formatClock, formatCount, formatDuration } from '../model/format.js';
import { stormAreas, topOffenders, type Offender } from '../model/storms.js';
import { groupedSeries, totalsSeries } from '../model/trend-series.js';
import type { Trends } from '../model/types.js';
import { openInvestigation } from './trends-view.js';

function totalsByGroup(trends: Trends | undefined, metric: 'duplicateDeliveries' | 'duplicateProcessings'): Offender[] {
  if (!trends) return [];
  const series = groupedSeries(trends, metric, 10);
  return series.groups
    .filter((g) => g !== 'other')
    .map((name) => ({ name, count: series.rows.reduce((n, row) => n + (row[name] ?? 0), 0), storms: 0 }));
}

function OffenderTable({ title, rows, link }: { title: string; rows: Offender[]; link: (name: string) => string }) {
  return (
    <section className="panel">
      <h3>{title}</h3>
      {rows.length === 0 ? (
        <p className="muted">None in this window.</p>
      ) : (
        <table className="table">
          <tbody>
            {rows.map((row) => (
              <tr key={row.name}>
                <td>
                  <Link href={link(row.name)}>{row.name || '(none)'}</Link>
                </td>
                <td className="num">{formatCount(row.count)}</td>
                {row.storms > 0 && <td className="num muted">{row.storms} storms</td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function StormsView() {
  const { timeWindow, stepMs } = useTimeWindow();
  const byService = useTrends(timeWindow, stepMs, 'service');
  const byType = useTrends(timeWindow, stepMs, 'messageType');
  const storms = useStorms(timeWindow, stepMs);
  const rows = useMemo(() => (byService.data ? totalsSeries(byService.data, ['duplicateDeliveries', 'duplicateProcessings', 'retries']) : []), [byService.data]);
  const list = storms.data?.storms ?? [];
  const areas = stormAreas(list, stepMs);
  const top = topOffenders(list);

  if (byService.isPending) return <Loading what="duplicates" />;
  if (byService.isError && !byService.data) return <ErrorState error={byService.error} what="duplicates" />;
  return (
    <div className="page">
      <div className="chart-grid two">
        <TimeChart
          title="Duplicate deliveries (handled) vs duplicate processings (bugs)"
          rows={rows}
          unit="count"
          series={[
            { key: 'duplicateDeliveries', label: 'Duplicate deliveries', colour: '#2f80c9' },
            { key: 'duplicateProcessings', label: 'Duplicate processings', colour: '#d0252b' },
          ]}
          areas={areas.filter((a) => a.kind === 'duplicate')}
          onSelectWindow={openInvestigation}
          height={260}
        />
        <TimeChart
          title="Retries"
          rows={rows}
          unit="count"
          series={[{ key: 'retries', label: 'Retries', colour: '#d39a00' }]}
          areas={areas.filter((a) => a.kind === 'retry').map((a) => ({ ...a, colour: '#d39a00' }))}
          onSelectWindow={openInvestigation}
          height={260}
        />
      </div>
      <section className="panel">
        <h2>Storm episodes</h2>
        {storms.isPending ? (
          <Loading what="storms" />
        ) : storms.isError ? (
          <ErrorState error={storms.error} what="storms" />
        ) : list.length === 0 ? (
          <Empty>No duplicate or retry storm in this window: no (service, message type) burst well above its own baseline.</Empty>
        ) : (
          <table className="table storms">
            <thead>
              <tr>
                <th>Kind</th>
                <th>Service</th>
                <th>Message type</th>
                <th>From</th>
                <th className="num">Lasted</th>
                <th className="num">Peak / baseline per min</th>
                <th className="num">Events</th>
                <th>Top message ids</th>
              </tr>
            </thead>
            <tbody>
              {list.map((storm) => (
                <tr key={storm.id} className="severity-error">
                  <td>{storm.kind}</td>
                  <td>{storm.service}</td>
                  <td>{storm.messageType}</td>
                  <td className="mono">{formatClock(storm.startMs)}</td>
                  <td className="num">{formatDuration(storm.endMs - storm.startMs)}</td>
                  <td className="num">
                    {formatCount(storm.peakPerMinute)} / {formatCount(storm.baselinePerMinute)}
                  </td>
                  <td className="num">{formatCount(storm.count)}</td>
                  <td>
                    {storm.topKeys.map((k) => (
                      <Link key={k.messageId} className="mono key-link" href={linkTo({ view: 'flows' }, { search: k.messageId })}>
                        {k.messageId} ×{k.count}
                      </Link>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <div className="columns">
        <OffenderTable
          title="Duplicate processings by service"
          rows={totalsByGroup(byService.data, 'duplicateProcessings')}
          link={(name) => linkTo({ view: 'flows' }, { service: name, anomaly: 'duplicate-processing' })}
        />
        <OffenderTable
          title="Duplicate processings by message type"
          rows={totalsByGroup(byType.data, 'duplicateProcessings')}
          link={(name) => linkTo({ view: 'flows' }, { messageType: name, anomaly: 'duplicate-processing' })}
        />
        <OffenderTable
          title="Duplicate deliveries by service"
          rows={totalsByGroup(byService.data, 'duplicateDeliveries')}
          link={(name) => linkTo({ view: 'flows' }, { service: name, anomaly: 'duplicate-delivery' })}
        />
        <OffenderTable title="Storm keys (message ids)" rows={top.keys} link={(name) => linkTo({ view: 'flows' }, { search: name })} />
      </div>
    </div>
  );
}
