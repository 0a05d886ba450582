/**
 * System map view-model: `Topology` → cytoscape element definitions, and the diff that lets the
 * live map update in place. Ids are the API's stable node/edge ids, so an element that did not
 * change keeps its position; only added nodes are laid out.
 */
import type { Topology, TopologyEdge, TopologyNode } from './types.js';
import { formatPercent, formatRate } from './format.js';

/** Plain data only (no cytoscape import) so this stays testable in node. */
export interface GraphElement {
  group: 'nodes' | 'edges';
  data: Record<string, string | number | boolean> & { id: string };
  classes: string;
}

export const HEALTH_COLOURS: Record<TopologyEdge['health'], string> = {
  ok: '#6b7a8f',
  duplicates: '#2f80c9',
  retries: '#d39a00',
  failures: '#e0641b',
  'duplicate-processing': '#d0252b',
};

export const HEALTH_LABELS: Record<TopologyEdge['health'], string> = {
  ok: 'healthy',
  duplicates: 'duplicate deliveries (handled)',
  retries: 'retries',
  failures: 'failures',
  'duplicate-processing': 'duplicate processing',
};

/** Least to most severe. */
const HEALTH_ORDER: TopologyEdge['health'][] = ['ok', 'duplicates', 'retries', 'failures', 'duplicate-processing'];

/** Edge width grows with the log of the rate so one hot edge does not swamp the map. */
export function edgeWidth(perMinute: number): number {
  return Math.min(9, 1.5 + Math.log10(1 + perMinute) * 2.5);
}

/** A route edge is named by what it carries: its message types (the first two, then how many more). */
export function routeLabel(edge: TopologyEdge): string {
  const shown = edge.messageTypes.slice(0, 2).join(', ');
  const more = edge.messageTypes.length - 2;
  return more > 0 ? `${shown} +${more}` : shown;
}

/**
 * Node ids in the order of the flow: breadth-first from the nodes nothing points at (the
 * callers and publishers where flows start), then whatever only cycles reach, each level in
 * the given order. Graph layouts break cycles by a depth-first search over nodes in insertion
 * order, so starting it at the sources makes the edges that lead back upstream (an event
 * routed back to the queue of the service that started the flow) the ones reversed, and the
 * map reads left to right from where flows begin.
 */
export function flowOrder(nodeIds: string[], edges: { source: string; target: string }[]): string[] {
  const out = new Map<string, string[]>(nodeIds.map((id) => [id, []]));
  const indegree = new Map<string, number>(nodeIds.map((id) => [id, 0]));
  for (const { source, target } of edges) {
    if (source === target || !out.has(source) || !out.has(target)) continue;
    out.get(source)!.push(target);
    indegree.set(target, indegree.get(target)! + 1);
  }
  const ordered: string[] = [];
  const seen = new Set<string>();
  const visit = (roots: string[]) => {
    const queue = roots.filter((id) => !seen.has(id));
    for (const id of queue) seen.add(id);
    for (let i = 0; i < queue.length; i++) {
      ordered.push(queue[i]);
      for (const next of out.get(queue[i])!) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
  };
  visit(nodeIds.filter((id) => indegree.get(id) === 0));
  for (const id of nodeIds) if (!seen.has(id)) visit([id]);
  return ordered;
}

/**
 * The one figure an edge is labelled with on the map, matching its colour: what makes it
 * unhealthy, else its rate. Short, so it fits between close nodes; the rest is in `edgeDetail`.
 */
export function edgeLabel(edge: TopologyEdge): string {
  if (edge.kind === 'route')
    return edge.messageTypes.length > 1 ? `${edge.messageTypes[0]} +${edge.messageTypes.length - 1}` : (edge.messageTypes[0] ?? '');
  switch (edge.health) {
    case 'duplicate-processing':
      return `${edge.duplicateProcessings}× dup proc`;
    case 'failures':
      return `${formatPercent(edge.errorRate)} err`;
    case 'retries':
      return `${formatPercent(edge.retryRate)} retry`;
    case 'duplicates':
      return `${formatPercent(edge.duplicateRate)} dup`;
    default:
      return formatRate(edge.perMinute);
  }
}

/** The edge's figures in one line: shown on hover and selection. */
export function edgeDetail(edge: TopologyEdge): string {
  if (edge.kind === 'route') return `routes ${routeLabel(edge)}`;
  const parts = [formatRate(edge.perMinute)];
  if (edge.errorRate > 0) parts.push(`${formatPercent(edge.errorRate)} err`);
  if (edge.retryRate > 0) parts.push(`${formatPercent(edge.retryRate)} retry`);
  if (edge.duplicateProcessings > 0) parts.push(`${edge.duplicateProcessings}× dup proc`);
  else if (edge.duplicateRate > 0) parts.push(`${formatPercent(edge.duplicateRate)} dup`);
  return parts.join(' · ');
}

/** Which label wins where labels would overlap: the worst health first, then the busiest edge. */
export function labelPriority(edge: TopologyEdge): number {
  return HEALTH_ORDER.indexOf(edge.health) * 1e9 + edge.perMinute;
}

export function topologyToElements(topology: Topology): GraphElement[] {
  const nodeIds = new Set(topology.nodes.map((n) => n.id));
  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  const inFlowOrder = flowOrder([...nodeIds], topology.edges).map((id) => byId.get(id)!);
  const nodes: GraphElement[] = inFlowOrder.map((node: TopologyNode) => ({
    group: 'nodes',
    data: { id: node.id, label: node.label, kind: node.kind },
    classes: node.kind,
  }));
  const edges: GraphElement[] = topology.edges
    // An edge whose end is not in the node list would make cytoscape throw.
    .filter((edge) => nodeIds.has(edge.source) && nodeIds.has(edge.target))
    .map((edge) => ({
      group: 'edges',
      data: {
        id: edge.id,
        source: edge.source,
        target: edge.target,
        kind: edge.kind,
        label: edgeLabel(edge),
        detail: edgeDetail(edge),
        labelPriority: labelPriority(edge),
        colour: HEALTH_COLOURS[edge.health],
        // Routes are inferred, not observed: drawn thinner than the sends and consumes they join.
        width: edge.kind === 'route' ? Math.max(1, edgeWidth(edge.perMinute) / 2) : edgeWidth(edge.perMinute),
        health: edge.health,
      },
      classes: `${edge.kind} health-${edge.health}`,
    }));
  return [...nodes, ...edges];
}

export interface ElementDiff {
  added: GraphElement[];
  /** Present before and now, with different data or classes. */
  changed: GraphElement[];
  removedIds: string[];
}

/** `current` maps element id → a signature of what is drawn (see `elementSignature`). */
export function diffElements(current: ReadonlyMap<string, string>, next: GraphElement[]): ElementDiff {
  const added: GraphElement[] = [];
  const changed: GraphElement[] = [];
  const seen = new Set<string>();
  for (const element of next) {
    seen.add(element.data.id);
    const before = current.get(element.data.id);
    if (before === undefined) added.push(element);
    else if (before !== elementSignature(element)) changed.push(element);
  }
  const removedIds = [...current.keys()].filter((id) => !seen.has(id));
  return { added, changed, removedIds };
}

export function elementSignature(element: GraphElement): string {
  return `${element.classes}|${JSON.stringify(element.data)}`;
}

export interface NodeSummary {
  node: TopologyNode;
  incoming: TopologyEdge[];
  outgoing: TopologyEdge[];
  /** Messages per minute in and out. */
  inPerMinute: number;
  outPerMinute: number;
  /** Names to filter the flows list by (services, or message types through a destination). */
  messageTypes: string[];
  worstHealth: TopologyEdge['health'];
}

export function worstHealth(edges: TopologyEdge[]): TopologyEdge['health'] {
  let worst = 0;
  for (const edge of edges) worst = Math.max(worst, HEALTH_ORDER.indexOf(edge.health));
  return HEALTH_ORDER[worst];
}

export function summarizeNode(topology: Topology, nodeId: string): NodeSummary | null {
  const node = topology.nodes.find((n) => n.id === nodeId);
  if (!node) return null;
  const incoming = topology.edges.filter((e) => e.target === nodeId);
  const outgoing = topology.edges.filter((e) => e.source === nodeId);
  const sum = (edges: TopologyEdge[]) => edges.reduce((total, e) => total + e.perMinute, 0);
  const messageTypes = [...new Set([...incoming, ...outgoing].flatMap((e) => e.messageTypes))].sort();
  return {
    node,
    incoming,
    outgoing,
    inPerMinute: sum(incoming),
    outPerMinute: sum(outgoing),
    messageTypes,
    worstHealth: worstHealth([...incoming, ...outgoing]),
  };
}

/** The service whose flows a node or edge is about (for "recent flows" of a selection). */
export function serviceOfSelection(topology: Topology, id: string): string | null {
  const node = topology.nodes.find((n) => n.id === id);
  if (node) return node.kind === 'service' ? node.label : null;
  const edge = topology.edges.find((e) => e.id === id);
  if (!edge) return null;
  const ends = [edge.source, edge.target].map((end) => topology.nodes.find((n) => n.id === end));
  // A consume edge is about its consuming service; a send or HTTP edge about the caller.
  const preferred = edge.kind === 'consume' ? ends[1] : ends[0];
  const service = [preferred, ...ends].find((n) => n?.kind === 'service');
  return service ? service.label : null;
}
