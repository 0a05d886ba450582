/**
 * The system map from the store's edge aggregates (like Zipkin's DependencyLinker: rows in,
 * nodes and links out). Node and edge ids are derived from names only, so the dashboard can
 * update a live map in place without re-layout.
 *
 * Node kinds: a `service` emits or consumes spans (send source, consume target, HTTP caller);
 * a `destination` is a queue, exchange or topic; an `http-peer` is an HTTP target that is not
 * itself a traced service. A name that is both an HTTP target and a service is the service.
 *
 * Edge kinds: `send`, `consume` and `http` come from the store's rows; `route` edges
 * (destination → destination) are inferred here, because publishers send to one destination
 * (an exchange or topic named after the event) while each subscriber consumes from its own
 * queue, and no span records the broker's routing. For each message type, every destination it
 * is sent to gets a route to every other destination it is consumed from — except a destination
 * the type is itself consumed from: that is a queue, and a message sent to a queue stays there.
 * A route carries the message types it was inferred from; its rates, health and duplicate
 * processings are those of the consume side (the consume rows of its target that carry those
 * types), and its count is the smaller of what was sent to its source and what was consumed
 * from its target with those types (store rows are per edge, not per type, so this is an
 * estimate when a destination carries other types too). It has no latency of its own (null).
 *
 * A consume edge is one endpoint (a service and the queue it consumes from): a service that
 * consumes from two queues has two, and the store counts duplicate processings per endpoint and
 * message id, so the same message processed once from each queue is not a duplicate. Retries
 * are failed or retry-scheduled attempts (a redelivery is a duplicate, not a retry).
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

export function edgeHealth(
  edge: Pick<TopologyEdge, 'duplicateProcessings' | 'errorRate' | 'retryRate' | 'duplicateRate'>,
): TopologyEdge['health'] {
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

type Measures = Pick<TopologyEdge, 'errorRate' | 'duplicateRate' | 'retryRate' | 'duplicateProcessings'>;

function measuresOf(parts: EdgeAggregateRow[]): { count: number; measures: Measures } {
  const sum = (field: 'count' | 'errors' | 'duplicates' | 'duplicateProcessings' | 'retries') =>
    parts.reduce((total, row) => total + row[field], 0);
  const count = sum('count');
  const rate = (n: number) => (count > 0 ? n / count : 0);
  return {
    count,
    measures: {
      errorRate: rate(sum('errors')),
      duplicateRate: rate(sum('duplicates')),
      retryRate: rate(sum('retries')),
      duplicateProcessings: sum('duplicateProcessings'),
    },
  };
}

/** Route edges (see the module comment), keyed by `source destination → target destination`. */
function inferRoutes(
  rows: EdgeAggregateRow[],
): { source: string; target: string; messageTypes: string[]; sent: EdgeAggregateRow[]; consumed: EdgeAggregateRow[] }[] {
  const sentTo = new Map<string, Set<string>>();
  const consumedFrom = new Map<string, Set<string>>();
  const add = (index: Map<string, Set<string>>, type: string, destination: string) => {
    const set = index.get(type);
    if (set) set.add(destination);
    else index.set(type, new Set([destination]));
  };
  for (const row of rows) {
    for (const type of row.messageTypes) {
      if (!type) continue;
      if (row.kind === 'send') add(sentTo, type, row.target);
      else if (row.kind === 'consume') add(consumedFrom, type, row.source);
    }
  }
  const routes = new Map<string, { source: string; target: string; types: Set<string> }>();
  for (const [type, sources] of sentTo) {
    const targets = consumedFrom.get(type);
    if (!targets) continue;
    for (const source of sources) {
      if (targets.has(source)) continue;
      for (const target of targets) {
        const key = `${source}\u0000${target}`;
        const route = routes.get(key);
        if (route) route.types.add(type);
        else routes.set(key, { source, target, types: new Set([type]) });
      }
    }
  }
  const carries = (row: EdgeAggregateRow, types: Set<string>) => row.messageTypes.some((type) => types.has(type));
  return [...routes.values()].map(({ source, target, types }) => ({
    source,
    target,
    messageTypes: [...types].sort(),
    sent: rows.filter((row) => row.kind === 'send' && row.target === source && carries(row, types)),
    consumed: rows.filter((row) => row.kind === 'consume' && row.source === target && carries(row, types)),
  }));
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
    const { count, measures } = measuresOf(parts);
    const quantile = (field: 'latencyP50Ms' | 'latencyP95Ms' | 'latencyP99Ms') =>
      weighted(parts.map((row) => ({ value: row[field], count: row.count })));
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
  for (const route of inferRoutes(rows)) {
    const source = node('destination', route.source);
    const target = node('destination', route.target);
    const consumed = measuresOf(route.consumed);
    const count = Math.min(measuresOf(route.sent).count, consumed.count);
    edges.push({
      id: `route:${source}->${target}`,
      source,
      target,
      kind: 'route',
      messageTypes: route.messageTypes,
      count,
      perMinute: count / minutes,
      ...consumed.measures,
      latencyP50Ms: null,
      latencyP95Ms: null,
      latencyP99Ms: null,
      health: edgeHealth(consumed.measures),
    });
  }
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return { fromMs: window.fromMs, toMs: window.toMs, nodes: [...nodes.values()].sort(byId), edges: edges.sort(byId) };
}
