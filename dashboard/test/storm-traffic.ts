/**
 * Seed traffic for the storms view: four (endpoint, message type) keys with a calm, steady rate
 * for the 100 minutes before `now` (long enough to be learned), and short bursts close together
 * in time, so that their band labels would print over one another if they were not laid out.
 *
 *   minutes before now   100 ……………………………… 20   15   14   13   …  0
 *   every key              2 messages/min, a duplicate delivery every third minute
 *   billing  BillCustomer                     10 messages × 3 attempts (two retry-scheduled)
 *   marketing OrderBilled                          25 redeliveries of storm-order-billed
 *   invoicing OrderShipped                         20 redeliveries
 *   shipping  OrderBilled                               30 redeliveries
 *   billing  BillCustomer                                    20 redeliveries
 *
 * Each key's calm traffic is one long conversation (started 100 minutes ago, so it is not among
 * the last hour's flows); each burst is a conversation of its own.
 */
import type { SpanRow } from '../../collector/src/model/span.js';
import { attempt, httpServer, send } from '../../collector/test/span-builders.js';

const MINUTE = 60_000;
const HISTORY_MINUTES = 100;

interface StormKey {
  producer: string;
  consumer: string;
  destination: string;
  messageType: string;
}

const KEYS = {
  marketingBilled: { producer: 'billing', consumer: 'marketing', destination: 'order-events', messageType: 'OrderBilled' },
  shippingBilled: { producer: 'billing', consumer: 'shipping', destination: 'order-events', messageType: 'OrderBilled' },
  invoicingShipped: { producer: 'shipping', consumer: 'invoicing', destination: 'order-events', messageType: 'OrderShipped' },
  billingBill: { producer: 'orders', consumer: 'billing', destination: 'billing', messageType: 'BillCustomer' },
} satisfies Record<string, StormKey>;

/** A message sent and delivered `deliveries` times (the first processed, the rest skipped as duplicates). */
function delivered(key: StormKey, id: string, conversationId: string, atMs: number, deliveries: number, gapMs: number): SpanRow[] {
  const sent = send({
    service: key.producer,
    messageId: id,
    messageType: key.messageType,
    destination: key.destination,
    atMs,
    conversationId,
  });
  const attempts = Array.from({ length: deliveries }, (_, i) =>
    attempt({
      parent: sent,
      service: key.consumer,
      attempt: 1,
      redelivered: i > 0,
      outcome: i === 0 ? 'processed' : 'duplicate',
      atMs: atMs + 50 + i * gapMs,
      durationMs: 3,
    }),
  );
  return [sent, ...attempts];
}

/** A message that failed twice (retry scheduled) and was processed on its third attempt. */
function retried(key: StormKey, id: string, conversationId: string, atMs: number): SpanRow[] {
  const sent = send({
    service: key.producer,
    messageId: id,
    messageType: key.messageType,
    destination: key.destination,
    atMs,
    conversationId,
  });
  const outcomes = ['retry_scheduled', 'retry_scheduled', 'processed'] as const;
  return [
    sent,
    ...outcomes.map((outcome, i) =>
      attempt({
        parent: sent,
        service: key.consumer,
        attempt: i + 1,
        outcome,
        retryDelayMs: outcome === 'processed' ? undefined : 1000,
        atMs: atMs + 50 + i * 1500,
        durationMs: 4,
        error: outcome === 'processed' ? undefined : 'payment provider timeout',
      }),
    ),
  ];
}

export interface StormTraffic {
  spans: SpanRow[];
  /** The conversation of the marketing duplicate storm (its burst is redeliveries of one message). */
  marketingStorm: { conversationId: string; messageId: string; startMs: number };
  /** The conversations that start in the last hour: one per burst. */
  burstConversations: string[];
}

export function buildStormTraffic(nowMs: number): StormTraffic {
  const minuteStart = Math.floor(nowMs / MINUTE) * MINUTE;
  const minutesAgo = (m: number) => minuteStart - m * MINUTE;
  const spans: SpanRow[] = [];
  for (const [name, key] of Object.entries(KEYS)) {
    for (let m = HISTORY_MINUTES; m >= 1; m--) {
      const conversationId = `conv-steady-${name}`;
      spans.push(...delivered(key, `steady-${name}-${m}-a`, conversationId, minutesAgo(m) + 5_000, m % 3 === 0 ? 2 : 1, 2_000));
      spans.push(...delivered(key, `steady-${name}-${m}-b`, conversationId, minutesAgo(m) + 35_000, 1, 0));
    }
  }
  for (let i = 0; i < 10; i++)
    spans.push(...retried(KEYS.billingBill, `retry-burst-${i}`, 'conv-retry-burst', minutesAgo(20) + 1_000 + i * 4_000));

  // The marketing storm's flow starts with the shop's HTTP request, like a real order.
  const stormAt = minutesAgo(15) + 2_000;
  const http = httpServer({ service: 'shop-api', route: '/orders', atMs: stormAt, conversationId: 'conv-storm' });
  const billed = send({
    parent: http,
    service: 'billing',
    messageId: 'storm-order-billed',
    messageType: 'OrderBilled',
    destination: 'order-events',
    atMs: stormAt + 5,
  });
  const redeliveries = Array.from({ length: 26 }, (_, i) =>
    attempt({
      parent: billed,
      service: 'marketing',
      attempt: 1,
      redelivered: i > 0,
      outcome: i === 0 ? 'processed' : 'duplicate',
      atMs: stormAt + 100 + i * 2_000,
      durationMs: 3,
    }),
  );
  spans.push(http, billed, ...redeliveries);
  spans.push(...delivered(KEYS.invoicingShipped, 'storm-order-shipped', 'conv-storm-order-shipped', minutesAgo(15) + 4_000, 21, 2_500));
  spans.push(...delivered(KEYS.shippingBilled, 'storm-shipping-billed', 'conv-storm-shipping-billed', minutesAgo(14) + 1_000, 31, 1_800));
  spans.push(...delivered(KEYS.billingBill, 'storm-bill-customer', 'conv-storm-bill-customer', minutesAgo(13) + 1_000, 21, 2_500));
  return {
    spans,
    marketingStorm: { conversationId: 'conv-storm', messageId: 'storm-order-billed', startMs: minutesAgo(15) },
    burstConversations: [
      'conv-retry-burst',
      'conv-storm',
      'conv-storm-order-shipped',
      'conv-storm-shipping-billed',
      'conv-storm-bill-customer',
    ],
  };
}
