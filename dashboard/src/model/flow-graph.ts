/**
 * Flow detail view-model: one conversation → the causation graph (messages as nodes,
 * produced-by edges), with anomalies as classes so they are visibly marked.
 *
 * Large flows stay drawable: sibling messages of the same type produced by the same parent, in
 * the same state and with the same flags, collapse into one "Type ×N" node (repeated
 * structure), level by level, so a fan-out of 5,000 healthy messages is one node. A collapsed
 * group keeps its members' flags, so 40 retried siblings become one node still marked RETRY;
 * fewer than `collapseAt` alike siblings stay individual. If the graph is still larger than
 * `maxNodes`, it is summarised by message type.
 */
import type { CausationEdge, Flow, FlowMessage, HttpCall } from './types.js';
import type { GraphElement } from './topology-elements.js';
import { FLAG_STYLES, sortFlags } from './anomaly-style.js';

export interface FlowGraphOptions {
  /** Siblings of one type at which they collapse into one node. */
  collapseAt: number;
  /** Above this many nodes, draw message types instead of messages. */
  maxNodes: number;
}

export const DEFAULT_FLOW_GRAPH_OPTIONS: FlowGraphOptions = { collapseAt: 6, maxNodes: 400 };

export interface FlowGraph {
  mode: 'messages' | 'types';
  elements: GraphElement[];
  /** Graph node id → the message ids it stands for (one for a plain message node). */
  members: Map<string, string[]>;
  /** Message id → the graph node that shows it. */
  nodeOfMessage: Map<string, string>;
  collapsedGroups: number;
}

export const messageNodeId = (messageId: string) => `m:${messageId}`;
const httpNodeId = (spanId: string) => `h:${spanId}`;

function httpLabel(call: HttpCall): string {
  return `${call.method} ${call.target}\n${call.client} → ${call.server}`;
}

/** Siblings with the same likeness collapse together: same type, same status, same flags. */
function likeness(message: FlowMessage): string {
  return `${message.messageType}|${message.status}|${sortFlags(message.flags).join(',')}`;
}

function messageClasses(message: FlowMessage): string {
  const flags = sortFlags(message.flags);
  return ['message', `status-${message.status}`, ...flags.map((f) => `flag-${f}`), flags.length ? 'flagged' : ''].join(' ').trim();
}

function messageLabel(message: FlowMessage): string {
  const flags = sortFlags(message.flags).map((f) => FLAG_STYLES[f].tag);
  const lines = [message.messageType || '(untyped)'];
  if (message.producer) lines.push(`from ${message.producer}`);
  if (flags.length) lines.push(flags.join(' · '));
  return lines.join('\n');
}

/** Message id → id of the message or HTTP span that produced it ('' at the boundary). */
export function parentsOf(flow: Pick<Flow, 'messages' | 'edges'>): Map<string, string> {
  const parents = new Map<string, string>();
  for (const edge of flow.edges) if (!parents.has(edge.to)) parents.set(edge.to, edge.from);
  const ids = new Set(flow.messages.map((m) => m.messageId));
  for (const message of flow.messages) {
    if (!parents.has(message.messageId) && message.causationId && ids.has(message.causationId)) {
      parents.set(message.messageId, message.causationId);
    }
  }
  return parents;
}

export function buildFlowGraph(flow: Flow, options: FlowGraphOptions = DEFAULT_FLOW_GRAPH_OPTIONS): FlowGraph {
  const graph = buildMessageGraph(flow, options);
  const nodeCount = graph.elements.filter((e) => e.group === 'nodes').length;
  return nodeCount > options.maxNodes ? buildTypeGraph(flow) : graph;
}

function buildMessageGraph(flow: Flow, options: FlowGraphOptions): FlowGraph {
  const messages = new Map(flow.messages.map((m) => [m.messageId, m]));
  const calls = new Map(flow.httpCalls.map((c) => [c.spanId, c]));
  const parents = parentsOf(flow);
  const children = new Map<string, FlowMessage[]>();
  const roots: FlowMessage[] = [];
  for (const message of flow.messages) {
    const parent = parents.get(message.messageId);
    if (parent && messages.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(message);
      children.set(parent, list);
    } else roots.push(message);
  }

  const nodes = new Map<string, GraphElement>();
  const members = new Map<string, string[]>();
  const nodeOfMessage = new Map<string, string>();
  const edgeCounts = new Map<string, { source: string; target: string; count: number; via: CausationEdge['via'] }>();
  let collapsedGroups = 0;

  const addEdge = (source: string, target: string, via: CausationEdge['via']) => {
    const id = `${source}->${target}`;
    const existing = edgeCounts.get(id);
    if (existing) existing.count += 1;
    else edgeCounts.set(id, { source, target, count: 1, via });
  };

  /** Graph node of a message's parent: a (possibly collapsed) message node, an HTTP node, or none. */
  const parentNode = (message: FlowMessage): string | null => {
    const parent = parents.get(message.messageId);
    if (!parent) return null;
    const ofMessage = nodeOfMessage.get(parent);
    if (ofMessage) return ofMessage;
    const call = calls.get(parent);
    if (call) {
      const id = httpNodeId(call.spanId);
      if (!nodes.has(id)) {
        nodes.set(id, { group: 'nodes', data: { id, label: httpLabel(call), kind: 'http' }, classes: 'http' });
        members.set(id, []);
      }
      return id;
    }
    return null;
  };

  const placeMessage = (message: FlowMessage, parent: string | null) => {
    const id = messageNodeId(message.messageId);
    nodes.set(id, {
      group: 'nodes',
      data: { id, label: messageLabel(message), kind: 'message', messageId: message.messageId, count: 1 },
      classes: messageClasses(message),
    });
    members.set(id, [message.messageId]);
    nodeOfMessage.set(message.messageId, id);
    if (parent) addEdge(parent, id, parents.get(message.messageId) && calls.has(parents.get(message.messageId)!) ? 'http' : 'message');
  };

  const visited = new Set<string>();
  let level = roots;
  while (level.length > 0) {
    const groups = new Map<string, { parent: string | null; messages: FlowMessage[] }>();
    const next: FlowMessage[] = [];
    for (const message of level) {
      if (visited.has(message.messageId)) continue;
      visited.add(message.messageId);
      const parent = parentNode(message);
      const key = `${parent ?? ''}>${likeness(message)}`;
      const group = groups.get(key) ?? { parent, messages: [] };
      group.messages.push(message);
      groups.set(key, group);
      next.push(...(children.get(message.messageId) ?? []));
    }
    for (const [key, group] of groups) {
      if (group.messages.length < options.collapseAt) {
        for (const message of group.messages) placeMessage(message, group.parent);
        continue;
      }
      collapsedGroups += 1;
      const id = `g:${key}`;
      const ids = group.messages.map((m) => m.messageId);
      const first = group.messages[0];
      const producers = [...new Set(group.messages.map((m) => m.producer).filter(Boolean))];
      const lines = [`${first.messageType || '(untyped)'} ×${ids.length}`];
      if (producers.length === 1) lines.push(`from ${producers[0]}`);
      lines.push(
        first.flags.length
          ? `all ${sortFlags(first.flags)
              .map((f) => FLAG_STYLES[f].tag)
              .join(' · ')}`
          : `all ${first.status}`,
      );
      nodes.set(id, {
        group: 'nodes',
        data: { id, label: lines.join('\n'), kind: 'group', count: ids.length },
        classes: `${messageClasses(first)} group`,
      });
      members.set(id, ids);
      for (const messageId of ids) nodeOfMessage.set(messageId, id);
      if (group.parent) for (let i = 0; i < ids.length; i++) addEdge(group.parent, id, 'message');
    }
    level = next;
  }
  // Cycles in malformed data leave messages unreached; still show them.
  for (const message of flow.messages) if (!nodeOfMessage.has(message.messageId)) placeMessage(message, null);

  const edges: GraphElement[] = [...edgeCounts.entries()].map(([id, e]) => ({
    group: 'edges',
    data: { id, source: e.source, target: e.target, count: e.count, label: e.count > 1 ? `×${e.count}` : '' },
    classes: e.via,
  }));
  return { mode: 'messages', elements: [...nodes.values(), ...edges], members, nodeOfMessage, collapsedGroups };
}

/** Summary for flows too large to draw message by message: one node per message type. */
export function buildTypeGraph(flow: Flow): FlowGraph {
  const parents = parentsOf(flow);
  const typeOf = new Map(flow.messages.map((m) => [m.messageId, m.messageType || '(untyped)']));
  const byType = new Map<string, FlowMessage[]>();
  for (const message of flow.messages) {
    const type = typeOf.get(message.messageId)!;
    byType.set(type, [...(byType.get(type) ?? []), message]);
  }
  const nodes: GraphElement[] = [];
  const members = new Map<string, string[]>();
  const nodeOfMessage = new Map<string, string>();
  for (const [type, list] of byType) {
    const id = `t:${type}`;
    const flags = sortFlags(list.flatMap((m) => m.flags));
    const flagged = list.filter((m) => m.flags.length > 0).length;
    const lines = [`${type} ×${list.length}`];
    if (flagged) lines.push(`${flagged} flagged: ${flags.map((f) => FLAG_STYLES[f].tag).join(' · ')}`);
    nodes.push({
      group: 'nodes',
      data: { id, label: lines.join('\n'), kind: 'type', count: list.length },
      classes: ['message', 'type', ...flags.map((f) => `flag-${f}`), flags.length ? 'flagged' : ''].join(' ').trim(),
    });
    members.set(
      id,
      list.map((m) => m.messageId),
    );
    for (const m of list) nodeOfMessage.set(m.messageId, id);
  }
  const edgeCounts = new Map<string, { source: string; target: string; count: number }>();
  for (const message of flow.messages) {
    const parent = parents.get(message.messageId);
    const parentType = parent ? typeOf.get(parent) : undefined;
    if (!parentType) continue;
    const source = `t:${parentType}`;
    const target = `t:${typeOf.get(message.messageId)}`;
    const key = `${source}->${target}`;
    const edge = edgeCounts.get(key) ?? { source, target, count: 0 };
    edge.count += 1;
    edgeCounts.set(key, edge);
  }
  const edges: GraphElement[] = [...edgeCounts.entries()].map(([id, e]) => ({
    group: 'edges',
    data: { id, source: e.source, target: e.target, count: e.count, label: `×${e.count}` },
    classes: 'message',
  }));
  return { mode: 'types', elements: [...nodes, ...edges], members, nodeOfMessage, collapsedGroups: 0 };
}
