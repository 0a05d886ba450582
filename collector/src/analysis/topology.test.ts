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
    expect(consume).toMatchObject({ source: 'destination:orders', target: 'service:orders', perMinute: 10, duplicateRate: 0.03, health: 'ok', messageTypes: ['SubmitOrder'] });
    expect(topology.edges.find((e) => e.id === 'http:service:orders->service:billing')).toBeDefined();
    expect(topology.edges.find((e) => e.target === 'http-peer:payments.example')).toMatchObject({ errorRate: 0.05, health: 'failures' });
    expect(buildTopology([...rows].reverse(), window).edges.map((e) => e.id)).toEqual(topology.edges.map((e) => e.id));
  });

  it('merges rows of the same edge, weighting latencies by count', () => {
    const merged = buildTopology(
      [row('send', 'a', 'q', { count: 100, latencyP50Ms: 10, messageTypes: ['X'] }), row('send', 'a', 'q', { count: 300, latencyP50Ms: 20, messageTypes: ['Y'] })],
      window,
    );
    expect(merged.edges).toHaveLength(1);
    expect(merged.edges[0]).toMatchObject({ count: 400, latencyP50Ms: 17.5, messageTypes: ['X', 'Y'] });
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
