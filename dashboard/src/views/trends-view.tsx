/**
 * Trends over the window: throughput, latency percentiles, queue latency, retries, failures,
 * dead letters, offloads and bytes, flow completion, ghost/lost/inconsistent-output/premature-
 * publish anomalies — totals, or one metric split by service, message type, destination or
 * endpoint (`by`, `metric` in the URL). Dragging a chart opens Investigate.
 */
import { useMemo } from 'react';
import { PALETTE, type ChartSeries } from '../components/chart-format.js';
import { TimeChart } from '../components/lazy.js';
import { EmptyStore, ErrorState, Loading } from '../components/status.js';
import { useTrends } from '../hooks/use-api.js';
import { linkTo, navigateTo, useSearchParams } from '../hooks/use-location.js';
import { useTimeWindow } from '../hooks/use-time-window.js';
import { groupedSeries, METRICS, METRIC_KEYS, totalsSeries, type MetricKey } from '../model/trend-series.js';
import { parseGrouping } from '../model/url-state.js';

interface Panel {
  title: string;
  metrics: MetricKey[];
}

const PANELS: Panel[] = [
  { title: 'Throughput (sent / processed)', metrics: ['sent', 'processed'] },
  { title: 'Processing latency', metrics: ['processingP50Ms', 'processingP95Ms', 'processingP99Ms'] },
  { title: 'Queue latency', metrics: ['queueLatencyP50Ms', 'queueLatencyP95Ms', 'queueLatencyP99Ms'] },
  { title: 'Outbox dispatch latency (commit → send)', metrics: ['outboxDispatchP50Ms', 'outboxDispatchP99Ms'] },
  { title: 'Retries, failures, dead letters', metrics: ['retries', 'failures', 'deadLetters'] },
  { title: 'Duplicates', metrics: ['duplicateDeliveries', 'duplicateProcessings'] },
  { title: 'Offloads', metrics: ['offloads'] },
  { title: 'Offloaded bytes', metrics: ['offloadedBytes'] },
  { title: 'Flows', metrics: ['flowsCompleted', 'incompleteFlows'] },
  {
    title: 'Ghost, lost, inconsistent output, premature publish',
    metrics: ['ghostMessages', 'lostMessages', 'inconsistentOutputs', 'prematurePublishes'],
  },
  { title: 'Exactly-once verdict of flows (held / violated / unknown)', metrics: ['flowsHeld', 'flowsViolated', 'flowsUnknown'] },
  { title: 'Flow completion time', metrics: ['flowCompletionP50Ms', 'flowCompletionP95Ms'] },
];

export function openInvestigation(fromMs: number, toMs: number): void {
  const url = new URL(linkTo({ view: 'investigate' }), window.location.origin);
  url.searchParams.delete('range');
  url.searchParams.set('from', String(Math.floor(fromMs)));
  url.searchParams.set('to', String(Math.ceil(toMs)));
  url.searchParams.sort();
  navigateTo(`${url.pathname}${url.search}`);
}

export function TrendsView() {
  const { timeWindow, stepMs } = useTimeWindow();
  const [params, setParams] = useSearchParams();
  const by = parseGrouping(params.get('by'));
  const metricParam = params.get('metric');
  const metric = metricParam && metricParam in METRICS ? (metricParam as MetricKey) : null;
  const trends = useTrends(timeWindow, stepMs, by);
  const totals = useMemo(() => (trends.data ? totalsSeries(trends.data) : []), [trends.data]);
  const grouped = useMemo(() => (trends.data && metric ? groupedSeries(trends.data, metric, 8) : null), [trends.data, metric]);

  const controls = (
    <div className="controls">
      <label>
        Split by
        <select value={by} onChange={(e) => setParams({ by: e.target.value })}>
          <option value="service">service</option>
          <option value="messageType">message type</option>
          <option value="destination">destination</option>
          <option value="endpoint">endpoint</option>
        </select>
      </label>
      <label>
        Metric
        <select value={metric ?? ''} onChange={(e) => setParams({ metric: e.target.value || null })}>
          <option value="">all totals</option>
          {METRIC_KEYS.map((key) => (
            <option key={key} value={key}>
              {METRICS[key].label}
            </option>
          ))}
        </select>
      </label>
    </div>
  );

  if (trends.isPending) return <Loading what="trends" />;
  if (trends.isError && !trends.data) return <ErrorState error={trends.error} what="trends" />;
  const empty = trends.data!.buckets.length === 0;
  return (
    <div className="page">
      {controls}
      {empty ? (
        <EmptyStore />
      ) : grouped && metric ? (
        <TimeChart
          title={`${METRICS[metric].label} by ${by}`}
          rows={grouped.rows}
          series={grouped.groups.map((group, i): ChartSeries => ({ key: group, label: group, colour: PALETTE[i % PALETTE.length] }))}
          unit={METRICS[metric].unit}
          onSelectWindow={openInvestigation}
          height={360}
        />
      ) : (
        <div className="chart-grid">
          {PANELS.map((panel) => (
            <TimeChart
              key={panel.title}
              title={panel.title}
              rows={totals}
              unit={METRICS[panel.metrics[0]].unit}
              series={panel.metrics.map((key, i) => ({ key, label: METRICS[key].label, colour: PALETTE[i % PALETTE.length] }))}
              onSelectWindow={openInvestigation}
            />
          ))}
        </div>
      )}
    </div>
  );
}
