/**
 * Learning who usually consumes each message type from each producer, from edge aggregates:
 *
 *   billing ──OrderBilled──> order-events (exchange)      orders ──BillCustomer──> billing (queue)
 *     order-events.shipping  ──> shipping   (10 of 10)      billing ──> billing (10 of 10)
 *     order-events.marketing ──> marketing  (9 of 10)       refunds ──BillCustomer──> billing-refunds (queue)
 *     order-events.invoicing ──> invoicing  (1 of 10)         billing-refunds ──> billing (3)
 */
import { describe, expect, it } from 'vitest';
import type { EdgeAggregateRow } from '../store/span-store.js';
import { consumedKey, learnSubscriptions, subscribersOf, type TypeCounts } from './subscriptions.js';

function edge(kind: 'send' | 'consume', source: string, target: string, messageTypes: string[], count: number): EdgeAggregateRow {
  return {
    kind,
    source,
    target,
    messageTypes,
    count,
    errors: 0,
    duplicates: 0,
    duplicateProcessings: 0,
    retries: 0,
    latencyP50Ms: null,
    latencyP95Ms: null,
    latencyP99Ms: null,
  };
}

const EDGES = [
  edge('send', 'billing', 'order-events', ['OrderBilled'], 10),
  edge('consume', 'order-events.shipping', 'shipping', ['OrderBilled'], 10),
  edge('consume', 'order-events.marketing', 'marketing', ['OrderBilled'], 9),
  edge('consume', 'order-events.invoicing', 'invoicing', ['OrderBilled'], 1),
  edge('send', 'orders', 'billing', ['BillCustomer'], 10),
  edge('consume', 'billing', 'billing', ['BillCustomer'], 10),
  edge('send', 'refunds', 'billing-refunds', ['BillCustomer'], 3),
  edge('consume', 'billing-refunds', 'billing', ['BillCustomer'], 3),
  edge('send', 'reports', 'report-events', ['ReportGenerated'], 4),
  edge('http', 'billing', 'payments.example', [], 10),
];

describe('learnSubscriptions', () => {
  const subscriptions = learnSubscriptions(EDGES);

  it.each([
    [
      'an event through an exchange reaches every consumer of its type; a rare one is known, not usual',
      'billing',
      'OrderBilled',
      ['invoicing/order-events.invoicing', 'marketing/order-events.marketing', 'shipping/order-events.shipping'],
      ['marketing/order-events.marketing', 'shipping/order-events.shipping'],
    ],
    ['a command to a queue is consumed from that queue only', 'orders', 'BillCustomer', ['billing/billing'], ['billing/billing']],
    [
      'the same type from another producer to another queue has its own subscriber',
      'refunds',
      'BillCustomer',
      ['billing/billing-refunds'],
      ['billing/billing-refunds'],
    ],
    ['a type nobody consumes has no subscriber', 'reports', 'ReportGenerated', [], []],
    ['a producer never seen has no subscriber', 'nobody', 'OrderBilled', [], []],
  ])('%s', (_, producer, type, known, usual) => {
    const subscribers = subscribersOf(subscriptions, producer, type);
    expect([...subscribers.known.keys()].sort()).toEqual(known);
    expect([...subscribers.usual.keys()].sort()).toEqual(usual);
  });

  it('names each subscriber endpoint with its service', () => {
    expect(subscribersOf(subscriptions, 'billing', 'OrderBilled').usual.get('marketing/order-events.marketing')).toBe('marketing');
  });
});

describe('learnSubscriptions with counts per type', () => {
  // billing sends OrderBilled (10) and BillingFailed (10) to order-events; shipping consumes both
  // types from its queue, but BillingFailed only for 2 of the 10 (routed by region). The edge
  // count (12 of 20 sends) would make shipping look usual for both.
  const edges = [
    edge('send', 'billing', 'order-events', ['BillingFailed', 'OrderBilled'], 20),
    edge('consume', 'order-events.shipping', 'shipping', ['BillingFailed', 'OrderBilled'], 12),
  ];
  const typeCounts: TypeCounts = {
    consumed: new Map([
      [consumedKey('shipping', 'order-events.shipping', 'OrderBilled'), 10],
      [consumedKey('shipping', 'order-events.shipping', 'BillingFailed'), 2],
    ]),
    sent: new Map([
      ['OrderBilled', 10],
      ['BillingFailed', 10],
    ]),
  };

  it('judges usual per type: a consumer of a type for a few messages only is known, not usual', () => {
    const subscriptions = learnSubscriptions(edges, typeCounts);
    expect([...subscribersOf(subscriptions, 'billing', 'OrderBilled').usual.keys()]).toEqual(['shipping/order-events.shipping']);
    expect([...subscribersOf(subscriptions, 'billing', 'BillingFailed').known.keys()]).toEqual(['shipping/order-events.shipping']);
    expect([...subscribersOf(subscriptions, 'billing', 'BillingFailed').usual.keys()]).toEqual([]);
  });

  it('without counts per type the edge count mixes the types (the near-miss)', () => {
    const subscriptions = learnSubscriptions(edges);
    expect([...subscribersOf(subscriptions, 'billing', 'BillingFailed').usual.keys()]).toEqual(['shipping/order-events.shipping']);
  });
});
