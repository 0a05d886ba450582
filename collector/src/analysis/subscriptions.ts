/**
 * Fan-out expectations: which endpoints usually consume each message type from each producer,
 * learned over a trailing window from the stores' edge aggregates (send edges: service →
 * destination; consume edges: destination → service, both with their message types). The
 * flow indexer refreshes it periodically; the detectors read it to tell a missed subscriber
 * (`missed-delivery`) and a type nobody subscribes to (not lost: unknown).
 *
 * A subscriber is named `service/destination` (the derived endpoint), since edge aggregates
 * know services and destinations, not declared endpoint names.
 */
import type { EdgeAggregateRow } from '../store/span-store.js';
import { derivedEndpoint } from './span-markers.js';

/** Subscriber endpoints (`service/destination`) → their service. */
export interface Subscribers {
  /** Every endpoint seen consuming the type in the window. */
  known: ReadonlyMap<string, string>;
  /** Those that consumed it at least `USUAL_SHARE` as often as the producer sent it. */
  usual: ReadonlyMap<string, string>;
}

/** Per `subscriptionKey(producer, messageType)`. */
export type Subscriptions = ReadonlyMap<string, Subscribers>;

/**
 * A consumer is usual for a type when it consumed at least this share of the type's sends: a
 * subscriber for some orders only (content-based routing) is known, not usual.
 */
export const USUAL_SHARE = 0.5;

/**
 * Counts per message type, when the store gives them (activity and trend aggregates): without
 * them the shares come from edge counts, which mix the types of an edge (a consumer of a
 * frequent type on an exchange would look usual for a rare type it receives only sometimes).
 */
export interface TypeCounts {
  /** First deliveries (attempts that are not retries or duplicates) per `consumedKey`. */
  consumed: ReadonlyMap<string, number>;
  /** Sends per message type, over every producer. */
  sent: ReadonlyMap<string, number>;
}

export const consumedKey = (service: string, destination: string, messageType: string) =>
  `${service}\u0000${destination}\u0000${messageType}`;

const NO_SUBSCRIBERS: Subscribers = { known: new Map(), usual: new Map() };

export const subscriptionKey = (producer: string, messageType: string) => `${producer}\u0000${messageType}`;

/** Known and usual subscribers of a type from a producer; none when nothing is known. */
export function subscribersOf(subscriptions: Subscriptions, producer: string, messageType: string): Subscribers {
  return subscriptions.get(subscriptionKey(producer, messageType)) ?? NO_SUBSCRIBERS;
}

interface Consumer {
  destination: string;
  subscriber: string;
  service: string;
  count: number;
}

/**
 * For each type a producer sends to a destination: the consumers of that type reading from the
 * same destination (a queue), else every consumer of the type (an exchange or topic routing to
 * its subscribers' own queues).
 */
export function learnSubscriptions(edges: readonly EdgeAggregateRow[], typeCounts?: TypeCounts): Subscriptions {
  const consumersOfType = new Map<string, Consumer[]>();
  for (const edge of edges) {
    if (edge.kind !== 'consume') continue;
    for (const type of edge.messageTypes) {
      const list = consumersOfType.get(type) ?? [];
      list.push({
        destination: edge.source,
        subscriber: derivedEndpoint(edge.target, edge.source),
        service: edge.target,
        count: typeCounts ? (typeCounts.consumed.get(consumedKey(edge.target, edge.source, type)) ?? 0) : edge.count,
      });
      consumersOfType.set(type, list);
    }
  }
  const sent = new Map<string, number>();
  const consumed = new Map<string, Map<string, { service: string; count: number }>>();
  for (const edge of edges) {
    if (edge.kind !== 'send') continue;
    for (const type of edge.messageTypes) {
      const consumers = consumersOfType.get(type) ?? [];
      const direct = consumers.filter((c) => c.destination === edge.target);
      const key = subscriptionKey(edge.source, type);
      sent.set(key, typeCounts?.sent.get(type) ?? (sent.get(key) ?? 0) + edge.count);
      const counts = consumed.get(key) ?? new Map<string, { service: string; count: number }>();
      for (const { subscriber, service, count } of direct.length > 0 ? direct : consumers) {
        counts.set(subscriber, { service, count: Math.max(counts.get(subscriber)?.count ?? 0, count) });
      }
      consumed.set(key, counts);
    }
  }
  const subscriptions = new Map<string, Subscribers>();
  for (const [key, counts] of consumed) {
    const sends = sent.get(key) ?? 0;
    const known = new Map([...counts].map(([subscriber, { service }]) => [subscriber, service]));
    const usual = new Map(
      [...counts].filter(([, { count }]) => count >= USUAL_SHARE * sends).map(([subscriber, { service }]) => [subscriber, service]),
    );
    subscriptions.set(key, { known, usual });
  }
  return subscriptions;
}
