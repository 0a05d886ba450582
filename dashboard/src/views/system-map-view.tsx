/**
 * Home: services, destinations and HTTP peers as a left-to-right graph; edges are coloured by
 * health and labelled with the one figure that says why (every figure on hover; a label that
 * would cover a node or another label waits for hover). Live events refetch the topology; the
 * graph updates in place. Selecting a node or edge (kept in the URL as `sel`) shows its numbers
 * and recent flows.
 */
import { useCallback, useMemo } from 'react';
import { fitGraph } from '../components/graph-handles.js';
import { CytoscapeGraph } from '../components/lazy.js';
import { CountBadges } from '../components/flag-badges.js';
import { FlowTable } from '../components/flow-table.js';
import { MAP_STYLE } from '../components/graph-styles.js';
import { Link } from '../components/link.js';
import { Facts, SidePanel } from '../components/side-panel.js';
import { EmptyStore, ErrorState, Loading } from '../components/status.js';
import { useFlowList, useTopology } from '../hooks/use-api.js';
import { linkTo, useSearchParams } from '../hooks/use-location.js';
import { useTimeWindow } from '../hooks/use-time-window.js';
import { formatCount, formatDuration, formatPercent, formatRate } from '../model/format.js';
import { HEALTH_COLOURS, HEALTH_LABELS, serviceOfSelection, summarizeNode, topologyToElements } from '../model/topology-elements.js';
import type { Topology, TopologyEdge } from '../model/types.js';
import type { TimeWindow } from '../model/url-state.js';

function MapLegend() {
  return (
    <div className="legend" aria-label="Legend">
      <span className="legend-item">
        <span className="swatch node-service" /> service
      </span>
      <span className="legend-item">
        <span className="swatch node-destination" /> queue / topic
      </span>
      <span className="legend-item">
        <span className="swatch node-peer" /> HTTP peer
      </span>
      <span className="legend-item">
        <span className="swatch-line route" /> routed (inferred)
      </span>
      {(Object.keys(HEALTH_COLOURS) as TopologyEdge['health'][]).map((health) => (
        <span key={health} className="legend-item">
          <span className="swatch-line" style={{ background: HEALTH_COLOURS[health] }} /> {HEALTH_LABELS[health]}
        </span>
      ))}
    </div>
  );
}

function EdgeFacts({ edge }: { edge: TopologyEdge }) {
  return (
    <Facts
      rows={[
        ['Kind', edge.kind === 'route' ? 'route (inferred: types sent here are consumed there)' : edge.kind],
        ['Health', <span style={{ color: HEALTH_COLOURS[edge.health] }}>{HEALTH_LABELS[edge.health]}</span>],
        ['Messages', formatCount(edge.count)],
        ['Rate', formatRate(edge.perMinute)],
        ['Errors', formatPercent(edge.errorRate)],
        ['Duplicates', formatPercent(edge.duplicateRate)],
        ['Duplicate processings', formatCount(edge.duplicateProcessings)],
        ['Retries', formatPercent(edge.retryRate)],
        [
          'Latency p50 / p95 / p99',
          `${formatDuration(edge.latencyP50Ms)} / ${formatDuration(edge.latencyP95Ms)} / ${formatDuration(edge.latencyP99Ms)}`,
        ],
        ['Message types', edge.messageTypes.join(', ') || '–'],
      ]}
    />
  );
}

function RecentFlows({ timeWindow, service }: { timeWindow: TimeWindow; service: string }) {
  const flows = useFlowList(timeWindow, { service }, 10);
  const first = flows.data?.pages[0];
  return (
    <section>
      <h3>
        Recent flows through {service}{' '}
        <Link className="more" href={linkTo({ view: 'flows' }, { service })}>
          all →
        </Link>
      </h3>
      {first && <CountBadges counts={first.anomalyCounts} />}
      {flows.isPending ? (
        <Loading what="flows" />
      ) : flows.isError ? (
        <ErrorState error={flows.error} what="flows" />
      ) : first && first.flows.length > 0 ? (
        <FlowTable flows={first.flows} compact />
      ) : (
        <p className="muted">No flows recorded through {service} in this window.</p>
      )}
    </section>
  );
}

function SelectionPanel({
  topology,
  id,
  timeWindow,
  onClose,
}: {
  topology: Topology;
  id: string;
  timeWindow: TimeWindow;
  onClose: () => void;
}) {
  const summary = summarizeNode(topology, id);
  const edge = summary ? null : topology.edges.find((e) => e.id === id);
  const service = serviceOfSelection(topology, id);
  if (!summary && !edge) {
    return (
      <SidePanel title="Not in this window" onClose={onClose}>
        <p className="muted">The selected element has no traffic in the current window.</p>
      </SidePanel>
    );
  }
  const label = (nodeId: string) => topology.nodes.find((n) => n.id === nodeId)?.label ?? nodeId;
  return (
    <SidePanel
      title={summary ? `${summary.node.kind}: ${summary.node.label}` : `${label(edge!.source)} → ${label(edge!.target)}`}
      onClose={onClose}
    >
      {summary && (
        <>
          <Facts
            rows={[
              ['In', formatRate(summary.inPerMinute)],
              ['Out', formatRate(summary.outPerMinute)],
              ['Worst edge', <span style={{ color: HEALTH_COLOURS[summary.worstHealth] }}>{HEALTH_LABELS[summary.worstHealth]}</span>],
              ['Message types', summary.messageTypes.join(', ') || '–'],
            ]}
          />
          <h3>Edges</h3>
          <table className="table">
            <tbody>
              {[...summary.incoming, ...summary.outgoing].map((e) => (
                <tr key={e.id}>
                  <td>{e.target === id ? `← ${label(e.source)}` : `→ ${label(e.target)}`}</td>
                  <td className="num">{formatRate(e.perMinute)}</td>
                  <td style={{ color: HEALTH_COLOURS[e.health] }}>{HEALTH_LABELS[e.health]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {edge && <EdgeFacts edge={edge} />}
      {service && <RecentFlows timeWindow={timeWindow} service={service} />}
    </SidePanel>
  );
}

export function SystemMapView() {
  const { timeWindow } = useTimeWindow();
  const [params, setParams] = useSearchParams();
  const selected = params.get('sel');
  const topology = useTopology(timeWindow);
  const elements = useMemo(() => (topology.data ? topologyToElements(topology.data) : []), [topology.data]);
  const onSelect = useCallback((id: string | null) => setParams({ sel: id }, { replace: true }), [setParams]);

  if (topology.isPending) return <Loading what="the system map" />;
  if (topology.isError && !topology.data) return <ErrorState error={topology.error} what="the system map" />;
  const data = topology.data!;
  if (data.nodes.length === 0) return <EmptyStore />;
  return (
    <div className="split">
      <section className="graph-pane">
        <div className="graph-toolbar">
          <span className="muted">
            {data.nodes.length} nodes · {data.edges.length} edges
          </span>
          <button type="button" onClick={() => fitGraph('map')}>
            Fit
          </button>
          {topology.isError && <span className="warn">refresh failed: {(topology.error as Error).message}</span>}
        </div>
        <CytoscapeGraph
          name="map"
          elements={elements}
          stylesheet={MAP_STYLE}
          selectedId={selected}
          onSelect={onSelect}
          rankSep={80}
          nodeSep={30}
          declutterEdgeLabels
        />
        <MapLegend />
      </section>
      {selected && <SelectionPanel topology={data} id={selected} timeWindow={timeWindow} onClose={() => onSelect(null)} />}
    </div>
  );
}
