import { describe, expect, it } from 'vitest';
import type { Topology, TopologyEdge } from './types.js';
import {
  diffElements,
  edgeWidth,
  elementSignature,
  flowOrder,
  HEALTH_COLOURS,
  serviceOfSelection,
  summarizeNode,
  topologyToElements,
} from './topology-elements.js';

function makeEdge(overrides: Partial<TopologyEdge> & Pick<TopologyEdge, 'id' | 'source' | 'target'>): TopologyEdge {
  return {
    kind: 'send',
    messageTypes: ['OrderPlaced'],
    count: 60,
    perMinute: 6,
    errorRate: 0,
    duplicateRate: 0,
    retryRate: 0,
    duplicateProcessings: 0,
    latencyP50Ms: 3,
    latencyP95Ms: 9,
    latencyP99Ms: 12,
    health: 'ok',
    ...overrides,
  };
}

/**
 *   svc:orders --send--> dest:orders.placed --consume--> svc:billing --http--> peer:payments
 */
const topology: Topology = {
  fromMs: 0,
  toMs: 600_000,
  nodes: [
    { id: 'svc:orders', kind: 'service', label: 'orders' },
    { id: 'dest:orders.placed', kind: 'destination', label: 'orders.placed' },
    { id: 'svc:billing', kind: 'service', label: 'billing' },
    { id: 'peer:payments', kind: 'http-peer', label: 'payments.example' },
  ],
  edges: [
    makeEdge({ id: 'e1', source: 'svc:orders', target: 'dest:orders.placed' }),
    makeEdge({
      id: 'e2',
      source: 'dest:orders.placed',
      target: 'svc:billing',
      kind: 'consume',
      duplicateProcessings: 2,
      health: 'duplicate-processing',
    }),
    makeEdge({ id: 'e3', source: 'svc:billing', target: 'peer:payments', kind: 'http', errorRate: 0.1, health: 'failures' }),
    makeEdge({ id: 'dangling', source: 'svc:billing', target: 'svc:gone' }),
  ],
};

describe('topologyToElements', () => {
  const elements = topologyToElements(topology);

  it('makes one node per topology node and drops edges to unknown nodes', () => {
    expect(elements.filter((e) => e.group === 'nodes').map((e) => e.data.id)).toEqual([
      'svc:orders',
      'dest:orders.placed',
      'svc:billing',
      'peer:payments',
    ]);
    expect(elements.filter((e) => e.group === 'edges').map((e) => e.data.id)).toEqual(['e1', 'e2', 'e3']);
  });

  it('colours edges by health, labels them with the one figure that says why, and keeps the rest for hover', () => {
    const e2 = elements.find((e) => e.data.id === 'e2')!;
    expect(e2.data.colour).toBe(HEALTH_COLOURS['duplicate-processing']);
    expect(e2.data.label).toBe('2× dup proc');
    expect(e2.data.detail).toBe('6/min · 2× dup proc');
    const e3 = elements.find((e) => e.data.id === 'e3')!;
    expect([e3.data.label, e3.data.detail]).toEqual(['10% err', '6/min · 10% err']);
    expect(elements.find((e) => e.data.id === 'e1')!.data.label).toBe('6/min');
  });

  it('gives the label of the worst edge priority where labels collide', () => {
    const priority = (id: string) => Number(elements.find((e) => e.data.id === id)!.data.labelPriority);
    expect(priority('e2')).toBeGreaterThan(priority('e3'));
    expect(priority('e3')).toBeGreaterThan(priority('e1'));
  });
});

describe('route edges', () => {
  //   svc:billing --send--> dest:OrderBilled ==route==> dest:invoicing --consume--> svc:invoicing
  const routed: Topology = {
    fromMs: 0,
    toMs: 600_000,
    nodes: [
      { id: 'dest:OrderBilled', kind: 'destination', label: 'OrderBilled' },
      { id: 'dest:invoicing', kind: 'destination', label: 'invoicing' },
      { id: 'svc:billing', kind: 'service', label: 'billing' },
      { id: 'svc:invoicing', kind: 'service', label: 'invoicing' },
    ],
    edges: [
      makeEdge({ id: 'send', source: 'svc:billing', target: 'dest:OrderBilled', messageTypes: ['OrderBilled'] }),
      makeEdge({
        id: 'route',
        source: 'dest:OrderBilled',
        target: 'dest:invoicing',
        kind: 'route',
        messageTypes: ['OrderBilled'],
        latencyP50Ms: null,
      }),
      makeEdge({ id: 'wide', source: 'dest:OrderBilled', target: 'dest:invoicing', kind: 'route', messageTypes: ['A', 'B', 'C', 'D'] }),
      makeEdge({ id: 'consume', source: 'dest:invoicing', target: 'svc:invoicing', kind: 'consume', messageTypes: ['OrderBilled'] }),
    ],
  };
  const elements = topologyToElements(routed);
  const edge = (id: string) => elements.find((e) => e.data.id === id)!;

  it('are drawn as their own class, thinner than observed edges, labelled with their message types', () => {
    expect(edge('route').classes).toBe('route health-ok');
    expect(edge('route').data.label).toBe('OrderBilled');
    expect(edge('wide').data.label).toBe('A +3');
    expect(edge('wide').data.detail).toBe('routes A, B +2');
    expect(edge('route').data.width).toBeLessThan(edge('send').data.width as number);
    expect(edge('send').data.width).toBe(edgeWidth(6));
    expect(edge('consume').data.label).toBe('6/min');
  });

  it('list nodes from where the flow starts, so the layout reads left to right', () => {
    expect(elements.filter((e) => e.group === 'nodes').map((e) => e.data.id)).toEqual([
      'svc:billing',
      'dest:OrderBilled',
      'dest:invoicing',
      'svc:invoicing',
    ]);
  });
});

describe('flowOrder', () => {
  it.each([
    {
      name: 'a chain given backwards',
      ids: ['c', 'b', 'a'],
      edges: [
        ['a', 'b'],
        ['b', 'c'],
      ],
      order: ['a', 'b', 'c'],
    },
    // shop → orders-q → orders → billing-q → billing → OrderBilled → orders-q (an event back to the start)
    {
      name: 'a saga whose events route back to the first queue starts at its caller',
      ids: ['OrderBilled', 'billing', 'billing-q', 'orders', 'orders-q', 'shop'],
      edges: [
        ['shop', 'orders-q'],
        ['orders-q', 'orders'],
        ['orders', 'billing-q'],
        ['billing-q', 'billing'],
        ['billing', 'OrderBilled'],
        ['OrderBilled', 'orders-q'],
      ],
      order: ['shop', 'orders-q', 'orders', 'billing-q', 'billing', 'OrderBilled'],
    },
    {
      name: 'a cycle with no source keeps the given order',
      ids: ['b', 'a'],
      edges: [
        ['a', 'b'],
        ['b', 'a'],
      ],
      order: ['b', 'a'],
    },
    {
      name: 'unconnected nodes and unknown ends stay',
      ids: ['x', 'y'],
      edges: [
        ['y', 'gone'],
        ['x', 'x'],
      ],
      order: ['x', 'y'],
    },
  ])('$name', ({ ids, edges, order }) => {
    expect(
      flowOrder(
        ids,
        edges.map(([source, target]) => ({ source, target })),
      ),
    ).toEqual(order);
  });
});

describe('diffElements', () => {
  it('reports only what was added, changed or removed', () => {
    const before = topologyToElements(topology);
    const current = new Map(before.map((e) => [e.data.id, elementSignature(e)]));
    const next = topologyToElements({
      ...topology,
      nodes: [...topology.nodes.filter((n) => n.id !== 'peer:payments'), { id: 'svc:shipping', kind: 'service', label: 'shipping' }],
      edges: [
        topology.edges[0],
        { ...topology.edges[1], perMinute: 60 },
        makeEdge({ id: 'e4', source: 'dest:orders.placed', target: 'svc:shipping', kind: 'consume' }),
      ],
    });
    const diff = diffElements(current, next);
    expect(diff.added.map((e) => e.data.id)).toEqual(['svc:shipping', 'e4']);
    expect(diff.changed.map((e) => e.data.id)).toEqual(['e2']);
    expect(diff.removedIds.sort()).toEqual(['e3', 'peer:payments']);
  });

  it('is empty when nothing changed', () => {
    const elements = topologyToElements(topology);
    const diff = diffElements(new Map(elements.map((e) => [e.data.id, elementSignature(e)])), topologyToElements(topology));
    expect(diff).toEqual({ added: [], changed: [], removedIds: [] });
  });
});

describe('selection summaries', () => {
  it('sums rates in and out of a node and finds its worst edge', () => {
    const summary = summarizeNode(topology, 'svc:billing')!;
    expect(summary.inPerMinute).toBe(6);
    expect(summary.outPerMinute).toBe(12);
    expect(summary.worstHealth).toBe('duplicate-processing');
  });

  it('attributes a consume edge to its consumer and a send edge to its sender', () => {
    expect(serviceOfSelection(topology, 'e2')).toBe('billing');
    expect(serviceOfSelection(topology, 'e1')).toBe('orders');
    expect(serviceOfSelection(topology, 'dest:orders.placed')).toBeNull();
  });
});
