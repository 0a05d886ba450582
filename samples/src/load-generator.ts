/**
 * Drives orders into shop-api at a given rate, like shoppers would: each order has its own
 * Idempotency-Key, and now and then a client repeats a request (a retry after a timeout),
 * which must yield the same order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HTTP_HEADER_IDEMPOTENCY_KEY } from '@onceflow/instrumentation/semconv';
import { draw } from './faults/faults.js';
import { CLIENT_ID_HEADER, type PlacedOrder } from './services/shop-api.js';

export interface OrderRequest {
  key: string;
  customerId: string;
  lines: { sku: string; quantity: number; priceCents: number }[];
}

export interface Placed extends PlacedOrder {
  key: string;
  customerId: string;
  amountCents: number;
}

/** A deterministic order from a seed and its sequence number. */
export function makeOrder(seed: string, n: number, customers = 8): OrderRequest {
  const customer = Math.floor(draw(seed, 'customer', String(n)) * customers);
  const lineCount = 1 + Math.floor(draw(seed, 'lines', String(n)) * 3);
  const lines = Array.from({ length: lineCount }, (_, i) => ({
    sku: `sku-${Math.floor(draw(seed, 'sku', String(n), String(i)) * 50)}`,
    quantity: 1 + Math.floor(draw(seed, 'qty', String(n), String(i)) * 3),
    // Mostly modest amounts; about one order in twenty exceeds the card limit and is declined.
    priceCents: draw(seed, 'big', String(n)) < 0.05 ? 60_000 : 500 + Math.floor(draw(seed, 'price', String(n), String(i)) * 4_000),
  }));
  return { key: `${seed}-order-${n}`, customerId: `customer-${customer}`, lines };
}

export async function placeOrder(shopUrl: string, order: OrderRequest, signal?: AbortSignal): Promise<Placed> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 5 && !signal?.aborted; attempt++) {
    try {
      const res = await fetch(`${shopUrl}/orders`, {
        method: 'POST',
        // The shopper's own device is the client its keys are unique for.
        headers: { 'content-type': 'application/json', [HTTP_HEADER_IDEMPOTENCY_KEY]: order.key, [CLIENT_ID_HEADER]: order.customerId },
        body: JSON.stringify({ customerId: order.customerId, lines: order.lines }),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(10_000)]) : AbortSignal.timeout(10_000),
      });
      if (res.status !== 202) throw new Error(`POST /orders answered ${res.status}: ${await res.text()}`);
      const placed = (await res.json()) as PlacedOrder;
      const amountCents = order.lines.reduce((sum, l) => sum + l.quantity * l.priceCents, 0);
      return { ...placed, key: order.key, customerId: order.customerId, amountCents };
    } catch (error) {
      lastError = error;
      await sleep(100 * attempt, undefined, { signal }).catch(() => undefined);
    }
  }
  throw lastError ?? new Error('placing the order was aborted');
}

export interface DriveOptions {
  shopUrl: string;
  seed: string;
  /** Orders per second. */
  rate: number;
  /** Stop after this many orders; forever when absent. */
  count?: number;
  /** Probability that a client repeats its request (same key). */
  repeatProbability?: number;
  signal?: AbortSignal;
  onError?: (error: unknown) => void;
}

/** Places orders at `rate`/s until `count` or the signal; resolves with what was placed. */
export async function driveOrders(options: DriveOptions): Promise<Placed[]> {
  const placed: Placed[] = [];
  const inFlight = new Set<Promise<void>>();
  const interval = 1000 / options.rate;
  const start = Date.now();
  for (let n = 0; options.count === undefined || n < options.count; n++) {
    if (options.signal?.aborted) break;
    const due = start + n * interval;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
    if (options.signal?.aborted) break;
    const order = makeOrder(options.seed, n);
    const repeat = draw(options.seed, 'repeat', String(n)) < (options.repeatProbability ?? 0.05);
    const work = (async () => {
      try {
        const first = await placeOrder(options.shopUrl, order, options.signal);
        placed.push(first);
        if (repeat) await placeOrder(options.shopUrl, order, options.signal);
      } catch (error) {
        options.onError?.(error);
      }
    })();
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }
  await Promise.allSettled([...inFlight]);
  return placed;
}
