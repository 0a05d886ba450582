/**
 * The graph (cytoscape) and chart (recharts) components load as separate chunks, so each view
 * parses only what it draws. Views start their queries at once; `preloadFor` fetches the chunk
 * a route needs in parallel with its data.
 */
import { lazy, Suspense } from 'react';
import type { Route } from '../model/url-state.js';
import type { TimeChartProps } from './chart-format.js';
import type { CytoscapeGraphProps } from './cytoscape-graph.js';
import { Loading } from './status.js';

const loadGraph = () => import('./cytoscape-graph.js');
const loadChart = () => import('./time-chart.js');

const GraphImpl = lazy(() => loadGraph().then((m) => ({ default: m.CytoscapeGraph })));
const ChartImpl = lazy(() => loadChart().then((m) => ({ default: m.TimeChart })));

export function CytoscapeGraph(props: CytoscapeGraphProps) {
  return (
    <Suspense fallback={<div className="graph-canvas"><Loading what="the graph" /></div>}>
      <GraphImpl {...props} />
    </Suspense>
  );
}

export function TimeChart(props: TimeChartProps) {
  return (
    <Suspense fallback={<figure className="chart" style={{ height: (props.height ?? 200) + 30 }} />}>
      <ChartImpl {...props} />
    </Suspense>
  );
}

export function preloadFor(route: Route): void {
  if (route.view === 'map' || route.view === 'flow') void loadGraph();
  if (route.view === 'trends' || route.view === 'storms' || route.view === 'investigate') void loadChart();
}
