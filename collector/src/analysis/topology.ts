/**
 * The system map from the store's edge aggregates (like Zipkin's DependencyLinker: rows in,
 * nodes and links out). Node and edge ids are derived from names only, so the dashboard can
 * update a live map in place without re-layout.
 *
 * Node kinds: a `service` emits or consumes spans (send source, consume target, HTTP caller);
 * a `destination` is a queue, exchange or topic; an `http-peer` is an HTTP target that is not
 * itself a traced service. A name that is both an HTTP target and a service is the service.
 *
 * Edge health, worst first (thresholds are fractions of the edge's count):
 *   duplicate-processing  any duplicate processing (a correctness violation, never tolerated)
 *   failures              errorRate ≥ 1%
 *   retries               retryRate ≥ 5%
 *   duplicates            duplicateRate ≥ 5% (handled duplicates: noisy, not wrong)
 *   ok                    otherwise
 */
import type { Topology, TopologyEdge, TopologyNode, TopologyNodeKind } from '../model/flow.js';
import type { EdgeAggregateRow, TimeWindow } from '../store/span-store.js';

export const HEALTH_THRESHOLDS = {
  errorRate: 0.01,
  retryRate: 0.05,
  duplicateRate: 0.05,
} as const;

export const nodeId = (kind: TopologyNodeKind, name: string) => `${kind}:${name}`;

export function edgeHealth(edge: Pick<TopologyEdge, 'duplicateProcessings' | 'errorRate' | 'retryRate' | 'duplicateRate'>): TopologyEdge['health'] {
  if (edge.duplicateProcessings > 0) return 'duplicate-processing';
  if (edge.errorRate >= HEALTH_THRESHOLDS.errorRate) return 'failures';
  if (edge.retryRate >= HEALTH_THRESHOLDS.retryRate) return 'retries';
  if (edge.duplicateRate >= HEALTH_THRESHOLDS.duplicateRate) return 'duplicates';
  return 'ok';
}

/** Count-weighted mean of a quantile over merged rows (an approximation; exact when one row). */
function weighted(parts: { value: number | null; count: number }[]): number | null {
  let sum = 0;
  let weight = 0;
  for (const { value, count } of parts) {
    if (value === null) continue;
    sum += value * count;
    weight += count;
  }
  return weight > 0 ? sum / weight : null;
}

export function buildTopology(rows: EdgeAggregateRow[], window: TimeWindow): Topology {
  const services = new Set<string>();
  for (const row of rows) {
    if (row.kind === 'send' || row.kind === 'http') services.add(row.source);
    if (row.kind === 'consume') services.add(row.target);
  }
  const nodes = new Map<string, TopologyNode>();
  const node = (kind: TopologyNodeKind, name: string): string => {
    const effective: TopologyNodeKind = kind === 'http-peer' && services.has(name) ? 'service' : kind;
    const id = nodeId(effective, name);
    if (!nodes.has(id)) nodes.set(id, { id, kind: effective, label: name });
    return id;
  };

  const grouped = new Map<string, { source: string; target: string; kind: EdgeAggregateRow['kind']; rows: EdgeAggregateRow[] }>();
  for (const row of rows) {
    const [source, target] =
      row.kind === 'send'
        ? [node('service', row.source), node('destination', row.target)]
        : row.kind === 'consume'
          ? [node('destination', row.source), node('service', row.target)]
          : [node('service', row.source), node('http-peer', row.target)];
    const id = `${row.kind}:${source}->${target}`;
    const group = grouped.get(id);
    if (group) group.rows.push(row);
    else grouped.set(id, { source, target, kind: row.kind, rows: [row] });
  }

  const minutes = Math.max(window.toMs - window.fromMs, 1) / 60_000;
  const edges: TopologyEdge[] = [];
  for (const [id, { source, target, kind, rows: parts }] of grouped) {
    const sum = (field: 'count' | 'errors' | 'duplicates' | 'duplicateProcessings' | 'retries') =>
      parts.reduce((total, row) => total + row[field], 0);
    const count = sum('count');
    const rate = (n: number) => (count > 0 ? n / count : 0);
    const quantile = (field: 'latencyP50Ms' | 'latencyP95Ms' | 'latencyP99Ms') =>
      weighted(parts.map((row) => ({ value: row[field], count: row.count })));
    const measures = {
      errorRate: rate(sum('errors')),
      duplicateRate: rate(sum('duplicates')),
      retryRate: rate(sum('retries')),
      duplicateProcessings: sum('duplicateProcessings'),
    };
    edges.push({
      id,
      source,
      target,
      kind,
      messageTypes: [...new Set(parts.flatMap((row) => row.messageTypes))].filter(Boolean).sort(),
      count,
      perMinute: count / minutes,
      ...measures,
      latencyP50Ms: quantile('latencyP50Ms'),
      latencyP95Ms: quantile('latencyP95Ms'),
      latencyP99Ms: quantile('latencyP99Ms'),
      health: edgeHealth(measures),
    });
  }
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return { fromMs: window.fromMs, toMs: window.toMs, nodes: [...nodes.values()].sort(byId), edges: edges.sort(byId) };
}
