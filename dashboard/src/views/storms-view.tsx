/**
 * Duplicates & storms: duplicate deliveries (handled) against duplicate processings (bugs), and
 * failed attempts and dead letters, over time; storm episodes as bands on the charts (one label
 * each, never overlapping; hover names the episode, click opens its flows), ranked in a table;
 * the keys still learning their baseline; and the services, message types and message ids that
 * offend most.
 */
import { useMemo } from 'react';
import { Link } from '../components/link.js';
import { Empty, ErrorState, Loading } from '../components/status.js';
import { TimeChart } from '../components/lazy.js';
import { useStorms, useTrends } from '../hooks/use-api.js';
import { linkTo } from '../hooks/use-location.js';
import { useTimeWindow } from '../hooks/use-time-window.js';
import { formatCount } from '../model/format.js';
import { episodeFlowParams, STORM_KIND_STYLES, stormBands, topStormKeys, type Offender, type StormChart } from '../model/storms.js';
import { groupedSeries, totalsSeries } from '../model/trend-series.js';
import type { Trends } from '../model/types.js';
import { LearningPanel, StormTable } from './storm-panels.js';
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
  const rows = useMemo(
    () => (byService.data ? totalsSeries(byService.data, ['duplicateDeliveries', 'duplicateProcessings', 'failures', 'deadLetters']) : []),
    [byService.data],
  );
  const list = useMemo(() => storms.data?.storms ?? [], [storms.data]);
  const bands = useMemo(
    () => stormBands(list, stepMs, (storm) => linkTo({ view: 'flows' }, episodeFlowParams(storm, stepMs))),
    [list, stepMs],
  );
  const bandsOf = (chart: StormChart) => bands.filter((band) => STORM_KIND_STYLES[band.kind].chart === chart);
  const learning = storms.data?.learning ?? [];

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
            { key: 'duplicateDeliveries', label: 'Duplicate deliveries', colour: STORM_KIND_STYLES['duplicate-delivery'].colour },
            { key: 'duplicateProcessings', label: 'Duplicate processings', colour: STORM_KIND_STYLES['duplicate-processing'].colour },
          ]}
          areas={bandsOf('duplicates')}
          onSelectWindow={openInvestigation}
          height={260}
        />
        <TimeChart
          title="Failed attempts and dead letters"
          rows={rows}
          unit="count"
          series={[
            { key: 'failures', label: 'Failed or retry-scheduled attempts', colour: STORM_KIND_STYLES.retry.colour },
            { key: 'deadLetters', label: 'Dead letters', colour: STORM_KIND_STYLES['dead-letter'].colour },
          ]}
          areas={bandsOf('failures')}
          onSelectWindow={openInvestigation}
          height={260}
        />
      </div>
      <section className="panel">
        <h2>Storm episodes{list.length > 0 && <span className="muted"> · ranked by how far above normal</span>}</h2>
        {storms.isPending ? (
          <Loading what="storms" />
        ) : storms.isError ? (
          <ErrorState error={storms.error} what="storms" />
        ) : list.length === 0 ? (
          <Empty>
            No storm in this window: no (endpoint, message type) burst of duplicates, retries, failures or dead letters well above its own
            normal{learning.length > 0 ? ` (${learning.length} still learning what normal is)` : ''}.
          </Empty>
        ) : (
          <StormTable storms={list} stepMs={stepMs} />
        )}
      </section>
      {storms.data && <LearningPanel learning={learning} learningMs={storms.data.learningMs} />}
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
        <OffenderTable
          title="Storm keys (message ids)"
          rows={topStormKeys(list)}
          link={(name) => linkTo({ view: 'flows' }, { search: name })}
        />
      </div>
    </div>
  );
}
