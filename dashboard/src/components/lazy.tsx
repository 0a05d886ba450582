/**
 * The graph (cytoscape) and chart (recharts) components load as separate chunks, so each view
 * parses only what it draws. `preloadFor` starts the chunk a route needs at once, in parallel
 * with its data; once loaded the component renders synchronously. (React.lazy would suspend on
 * first render even for a loaded chunk, and React throttles revealing a suspended boundary by
 * ~300 ms — a visible delay on every first draw.)
 */
import { useEffect, useState, type ComponentType } from 'react';
import type { Route } from '../model/url-state.js';
import type { TimeChartProps } from './chart-format.js';
import type { CytoscapeGraphProps } from './cytoscape-graph.js';
import { Loading } from './status.js';

interface Chunk<P> {
  loaded?: ComponentType<P>;
  load(): Promise<ComponentType<P>>;
}

function chunk<P>(importer: () => Promise<ComponentType<P>>): Chunk<P> {
  const entry: Chunk<P> = {
    load: () => importer().then((component) => (entry.loaded = component)),
  };
  return entry;
}

const graphChunk = chunk<CytoscapeGraphProps>(() => import('./cytoscape-graph.js').then((m) => m.CytoscapeGraph));
const chartChunk = chunk<TimeChartProps>(() => import('./time-chart.js').then((m) => m.TimeChart));

function useChunk<P>(entry: Chunk<P>): ComponentType<P> | undefined {
  const [component, setComponent] = useState(() => entry.loaded);
  useEffect(() => {
    if (!component) void entry.load().then((loaded) => setComponent(() => loaded));
  }, [component, entry]);
  return component;
}

// The rule below cannot see that a chunk's component is a module's export, the same function on
// every render, so it is not "created during render".
/* eslint-disable react-hooks/static-components */

export function CytoscapeGraph(props: CytoscapeGraphProps) {
  const Graph = useChunk(graphChunk);
  return Graph ? (
    <Graph {...props} />
  ) : (
    <div className="graph-canvas">
      <Loading what="the graph" />
    </div>
  );
}

export function TimeChart(props: TimeChartProps) {
  const Chart = useChunk(chartChunk);
  return Chart ? <Chart {...props} /> : <figure className="chart" style={{ height: (props.height ?? 200) + 30 }} />;
}

export function preloadFor(route: Route): void {
  if (route.view === 'map' || route.view === 'flow') void graphChunk.load();
  if (route.view === 'trends' || route.view === 'storms' || route.view === 'investigate') void chartChunk.load();
}
