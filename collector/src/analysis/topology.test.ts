import { describe, expect, it } from 'vitest';
import type { EdgeAggregateRow } from '../store/span-store.js';
import { buildTopology, edgeHealth } from './topology.js';

const window = { fromMs: 0, toMs: 10 * 60_000 };

function row(kind: EdgeAggregateRow['kind'], source: string, target: string, overrides: Partial<EdgeAggregateRow> = {}): EdgeAggregateRow {
  return {
    kind,
    source,
    target,
    messageTypes: [],
    count: 100,
    errors: 0,
    duplicates: 0,
    duplicateProcessings: 0,
    retries: 0,
    latencyP50Ms: 10,
    latencyP95Ms: 20,
    latencyP99Ms: 30,
    ...overrides,
  };
}

//   shop-api ─send─> orders(queue) ─consume─> orders ─http─> billing (a traced service)
//                                                      └─http─> payments.example (third party)
const rows = [
  row('send', 'shop-api', 'orders', { messageTypes: ['SubmitOrder'] }),
  row('consume', 'orders', 'orders', { messageTypes: ['SubmitOrder'], duplicates: 3 }),
  row('http', 'orders', 'billing'),
  row('send', 'billing', 'order-events', { messageTypes: ['OrderBilled'] }),
  row('http', 'billing', 'payments.example', { errors: 5 }),
];

describe('buildTopology', () => {
  const topology = buildTopology(rows, window);

  it('makes service, destination and http-peer nodes; an HTTP target that is a service is the service', () => {
    expect(topology.nodes).toEqual([
      { id: 'destination:order-events', kind: 'destination', label: 'order-events' },
      { id: 'destination:orders', kind: 'destination', label: 'orders' },
      { id: 'http-peer:payments.example', kind: 'http-peer', label: 'payments.example' },
      { id: 'service:billing', kind: 'service', label: 'billing' },
      { id: 'service:orders', kind: 'service', label: 'orders' },
      { id: 'service:shop-api', kind: 'service', label: 'shop-api' },
    ]);
  });

  it('gives edges stable ids from their endpoints, with rates per minute and fractions', () => {
    const consume = topology.edges.find((e) => e.id === 'consume:destination:orders->service:orders')!;
    expect(consume).toMatchObject({
      source: 'destination:orders',
      target: 'service:orders',
      perMinute: 10,
      duplicateRate: 0.03,
      health: 'ok',
      messageTypes: ['SubmitOrder'],
    });
    expect(topology.edges.find((e) => e.id === 'http:service:orders->service:billing')).toBeDefined();
    expect(topology.edges.find((e) => e.target === 'http-peer:payments.example')).toMatchObject({ errorRate: 0.05, health: 'failures' });
    expect(buildTopology([...rows].reverse(), window).edges.map((e) => e.id)).toEqual(topology.edges.map((e) => e.id));
  });

  //   shop ─send─> order-events ─route─> billing-orders ─consume─> billing (endpoint billing/billing-orders)
  //                              └─route─> billing-audit  ─consume─> billing (endpoint billing/billing-audit)
  it('shows one service consuming from two queues as two consume edges, each with its own health', () => {
    const twoQueues = buildTopology(
      [
        row('send', 'shop', 'order-events', { messageTypes: ['OrderPlaced'] }),
        row('consume', 'billing-orders', 'billing', { messageTypes: ['OrderPlaced'] }),
        row('consume', 'billing-audit', 'billing', { messageTypes: ['OrderPlaced'], duplicateProcessings: 1 }),
      ],
      window,
    );
    const consumes = twoQueues.edges.filter((e) => e.kind === 'consume');
    expect(consumes.map((e) => [e.id, e.count, e.health])).toEqual([
      ['consume:destination:billing-audit->service:billing', 100, 'duplicate-processing'],
      ['consume:destination:billing-orders->service:billing', 100, 'ok'],
    ]);
    expect(twoQueues.edges.filter((e) => e.kind === 'route').map((e) => e.target)).toEqual([
      'destination:billing-audit',
      'destination:billing-orders',
    ]);
  });

  it('merges rows of the same edge, weighting latencies by count', () => {
    const merged = buildTopology(
      [
        row('send', 'a', 'q', { count: 100, latencyP50Ms: 10, messageTypes: ['X'] }),
        row('send', 'a', 'q', { count: 300, latencyP50Ms: 20, messageTypes: ['Y'] }),
      ],
      window,
    );
    expect(merged.edges).toHaveLength(1);
    expect(merged.edges[0]).toMatchObject({ count: 400, latencyP50Ms: 17.5, messageTypes: ['X', 'Y'] });
  });
});

describe('buildTopology route edges', () => {
  const routesOf = (input: EdgeAggregateRow[]) =>
    buildTopology(input, window)
      .edges.filter((e) => e.kind === 'route')
      .map((e) => ({ id: e.id, messageTypes: e.messageTypes, count: e.count }));

  //   billing ─send─> OrderBilled ┬(route)─> invoicing(queue) ─consume─> invoicing
  //                               └(route)─> shipping(queue)  ─consume─> shipping
  //   shop-api ─send─> orders(queue) ─consume─> orders            (a command: no route)
  it.each([
    {
      name: 'an event sent to its topic reaches every subscriber queue',
      rows: [
        row('send', 'billing', 'OrderBilled', { messageTypes: ['OrderBilled'], count: 50 }),
        row('consume', 'invoicing', 'invoicing', { messageTypes: ['OrderBilled'], count: 52 }),
        row('consume', 'shipping', 'shipping', { messageTypes: ['OrderBilled'], count: 50 }),
      ],
      routes: [
        { id: 'route:destination:OrderBilled->destination:invoicing', messageTypes: ['OrderBilled'], count: 50 },
        { id: 'route:destination:OrderBilled->destination:shipping', messageTypes: ['OrderBilled'], count: 50 },
      ],
    },
    {
      name: 'a type sent and consumed on the same destination has no route',
      rows: [
        row('send', 'shop-api', 'orders', { messageTypes: ['SubmitOrder'] }),
        row('consume', 'orders', 'orders', { messageTypes: ['SubmitOrder'] }),
      ],
      routes: [],
    },
    {
      name: 'a queue a type is consumed from routes nowhere, even when the type is also published elsewhere',
      rows: [
        row('send', 'shop-api', 'orders', { messageTypes: ['SubmitOrder'] }),
        row('send', 'legacy', 'commands', { messageTypes: ['SubmitOrder'] }),
        row('consume', 'orders', 'orders', { messageTypes: ['SubmitOrder'] }),
        row('consume', 'audit', 'audit', { messageTypes: ['SubmitOrder'] }),
      ],
      routes: [
        { id: 'route:destination:commands->destination:audit', messageTypes: ['SubmitOrder'], count: 100 },
        { id: 'route:destination:commands->destination:orders', messageTypes: ['SubmitOrder'], count: 100 },
      ],
    },
    {
      name: 'a type sent but never consumed, or consumed but never sent, has no route',
      rows: [
        row('send', 'billing', 'OrderBilled', { messageTypes: ['OrderBilled'] }),
        row('consume', 'invoicing', 'invoicing', { messageTypes: ['InvoiceRequested'] }),
      ],
      routes: [],
    },
    {
      name: 'types sharing a route make one edge; its count is at most what was sent to its source',
      rows: [
        row('send', 'billing', 'events', { messageTypes: ['OrderBilled'], count: 30 }),
        row('send', 'shipping', 'events', { messageTypes: ['OrderShipped'], count: 20 }),
        row('send', 'orders', 'events', { messageTypes: ['OrderSubmitted'], count: 40 }),
        // The orders queue also receives its own command: its consume count is more than was routed.
        row('consume', 'orders', 'orders', { messageTypes: ['OrderBilled', 'OrderShipped', 'SubmitOrder'], count: 500 }),
      ],
      routes: [{ id: 'route:destination:events->destination:orders', messageTypes: ['OrderBilled', 'OrderShipped'], count: 50 }],
    },
    {
      name: 'competing consumers of one queue add up on the consume side',
      rows: [
        row('send', 'billing', 'OrderBilled', { messageTypes: ['OrderBilled'], count: 500 }),
        row('consume', 'invoicing', 'invoicing-1', { messageTypes: ['OrderBilled'], count: 120 }),
        row('consume', 'invoicing', 'invoicing-2', { messageTypes: ['OrderBilled'], count: 80 }),
      ],
      routes: [{ id: 'route:destination:OrderBilled->destination:invoicing', messageTypes: ['OrderBilled'], count: 200 }],
    },
  ])('$name', ({ rows: input, routes }) => {
    expect(routesOf(input)).toEqual(routes);
  });

  it("carries the consume side's rates and health, no latency, and joins the destinations' existing nodes", () => {
    const input = [
      row('send', 'billing', 'OrderBilled', { messageTypes: ['OrderBilled'], count: 100, errors: 40 }),
      row('consume', 'invoicing', 'invoicing', {
        messageTypes: ['OrderBilled'],
        count: 100,
        duplicates: 10,
        retries: 2,
        duplicateProcessings: 1,
      }),
    ];
    const topology = buildTopology(input, window);
    const route = topology.edges.find((e) => e.kind === 'route')!;
    expect(route).toMatchObject({
      source: 'destination:OrderBilled',
      target: 'destination:invoicing',
      perMinute: 10,
      errorRate: 0,
      duplicateRate: 0.1,
      retryRate: 0.02,
      duplicateProcessings: 1,
      latencyP50Ms: null,
      latencyP99Ms: null,
      health: 'duplicate-processing',
    });
    expect(topology.nodes.map((n) => n.id)).toEqual([
      'destination:OrderBilled',
      'destination:invoicing',
      'service:billing',
      'service:invoicing',
    ]);
    expect(buildTopology([...input].reverse(), window).edges).toEqual(topology.edges);
  });
});

describe('edgeHealth', () => {
  it.each([
    [{ duplicateProcessings: 1, errorRate: 0.5, retryRate: 0.5, duplicateRate: 0.5 }, 'duplicate-processing'],
    [{ duplicateProcessings: 0, errorRate: 0.01, retryRate: 0.5, duplicateRate: 0.5 }, 'failures'],
    [{ duplicateProcessings: 0, errorRate: 0.009, retryRate: 0.05, duplicateRate: 0.5 }, 'retries'],
    [{ duplicateProcessings: 0, errorRate: 0, retryRate: 0.049, duplicateRate: 0.05 }, 'duplicates'],
    [{ duplicateProcessings: 0, errorRate: 0, retryRate: 0, duplicateRate: 0.049 }, 'ok'],
  ] as const)('%o → %s', (measures, health) => {
    expect(edgeHealth(measures)).toBe(health);
  });
});
