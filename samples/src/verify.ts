/**
 * The system's end-to-end invariants, checked against its databases after a run: every order
 * billed exactly once in the provider's ledger, totals and coupons consistent with the
 * ledger, every invoice stored and readable, nothing left in a queue or an outbox.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Placed } from './load-generator.js';
import type { InvoiceIssued } from './messages.js';
import type { EntityDocument } from './kv/entity-endpoint.js';
import { type LoyaltyAccount, pointsFor } from './services/loyalty.js';
import { CARD_LIMIT_CENTS } from './services/payment-provider.js';
import { readInvoice } from './services/shipping.js';
import type { OrderSystem } from './system.js';

export interface Verification {
  violations: string[];
  orders: number;
  charged: number;
  declined: number;
  coupons: number;
  offloadedInvoices: number;
}

const n = (v: unknown) => Number(v);

export async function verifySystem(system: OrderSystem, placed: Placed[], couponThresholdCents: number): Promise<Verification> {
  const violations: string[] = [];
  const { db, providerDb } = system;
  const orders = new Map(placed.map((p) => [p.orderId, p]));
  const ledger = (
    await providerDb.query<{ order_id: string; customer_id: string; amount_cents: string }>(
      'SELECT order_id, customer_id, amount_cents FROM provider_ledger',
    )
  ).rows;
  const charges = new Map<string, number>();
  for (const row of ledger) charges.set(row.order_id, (charges.get(row.order_id) ?? 0) + 1);
  let charged = 0;
  let declined = 0;
  for (const order of orders.values()) {
    const count = charges.get(order.orderId) ?? 0;
    const shouldCharge = order.amountCents <= CARD_LIMIT_CENTS;
    if (shouldCharge) charged += 1;
    else declined += 1;
    if (count !== (shouldCharge ? 1 : 0)) violations.push(`order ${order.orderId} charged ${count}× (expected ${shouldCharge ? 1 : 0})`);
  }
  for (const id of charges.keys()) if (!orders.has(id)) violations.push(`ledger charges unknown order ${id}`);

  const statuses = new Map(
    (await db.query<{ order_id: string; status: string }>('SELECT order_id, status FROM orders')).rows.map((r) => [r.order_id, r.status]),
  );
  const shipped = new Set((await db.query<{ order_id: string }>('SELECT order_id FROM shipments')).rows.map((r) => r.order_id));
  for (const order of orders.values()) {
    const expected = order.amountCents <= CARD_LIMIT_CENTS ? 'shipped' : 'billing-failed';
    const status = statuses.get(order.orderId);
    if (status !== expected) violations.push(`order ${order.orderId} is ${status ?? 'missing'} (expected ${expected})`);
    if ((expected === 'shipped') !== shipped.has(order.orderId)) violations.push(`order ${order.orderId} shipment wrong`);
  }
  if (statuses.size !== orders.size) violations.push(`${statuses.size} orders stored for ${orders.size} placed`);

  const invoices = (
    await db.query<{ order_id: string; message_id: string; blob_ref: string | null; bytes: string; sha256: string }>(
      'SELECT order_id, message_id, blob_ref, bytes, sha256 FROM invoices',
    )
  ).rows;
  const parcels = new Map(
    (await db.query<{ order_id: string; sha256: string }>('SELECT order_id, sha256 FROM parcel_invoices')).rows.map((r) => [
      r.order_id,
      r.sha256,
    ]),
  );
  let offloadedInvoices = 0;
  for (const invoice of invoices) {
    if (invoice.blob_ref) {
      offloadedInvoices += 1;
      const issued: InvoiceIssued = { orderId: invoice.order_id, bytes: n(invoice.bytes), sha256: invoice.sha256, ref: invoice.blob_ref };
      await readInvoice(system.blobs, issued).catch((error: Error) =>
        violations.push(`invoice of ${invoice.order_id} unreadable: ${error.message}`),
      );
    }
    if (parcels.get(invoice.order_id) !== invoice.sha256) violations.push(`invoice of ${invoice.order_id} not in its parcel`);
  }
  if (invoices.length !== charged) violations.push(`${invoices.length} invoices for ${charged} charged orders`);

  const expectedTotals = new Map<string, { total: number; orders: number; submitted: number }>();
  for (const order of orders.values()) {
    const t = expectedTotals.get(order.customerId) ?? { total: 0, orders: 0, submitted: 0 };
    t.submitted += 1;
    if (order.amountCents <= CARD_LIMIT_CENTS) {
      t.total += order.amountCents;
      t.orders += 1;
    }
    expectedTotals.set(order.customerId, t);
  }
  const totals = (
    await db.query<{ customer_id: string; total_cents: string; orders: number; submitted: number }>(
      'SELECT customer_id, total_cents, orders, submitted FROM customer_totals',
    )
  ).rows;
  const coupons = (await db.query<{ customer_id: string }>('SELECT customer_id FROM coupons')).rows;
  for (const [customer, expected] of expectedTotals) {
    const row = totals.find((t) => t.customer_id === customer);
    if (!row || n(row.total_cents) !== expected.total || n(row.orders) !== expected.orders || n(row.submitted) !== expected.submitted) {
      violations.push(
        `customer ${customer}: total ${row?.total_cents}/${row?.orders} orders/${row?.submitted} submitted, expected ${expected.total}/${expected.orders}/${expected.submitted}`,
      );
    }
    const granted = coupons.filter((c) => c.customer_id === customer).length;
    const due = expected.total >= couponThresholdCents ? 1 : 0;
    if (granted !== due) violations.push(`customer ${customer} has ${granted} coupon(s), expected ${due}`);
  }

  if (system.loyalty) violations.push(...(await verifyLoyalty(system, [...orders.values()])));
  const topology = system.plan.topology ?? {};
  if (topology.uninstrumentedConsumer) {
    const labels = new Set((await db.query<{ order_id: string }>('SELECT order_id FROM labels')).rows.map((r) => r.order_id));
    for (const id of shipped) if (!labels.has(id)) violations.push(`order ${id} shipped without a label`);
  }
  if (topology.secondQueue) {
    const entries = (await db.query<{ order_id: string }>('SELECT order_id FROM analytics_ledger')).rows.map((r) => r.order_id);
    if (entries.length !== charged || new Set(entries).size !== charged)
      violations.push(`${entries.length} analytics entries for ${charged} charged orders`);
  }

  const undispatched = n((await db.query<{ c: string }>('SELECT count(*) AS c FROM outbox WHERE dispatched_at IS NULL')).rows[0].c);
  if (undispatched > 0) violations.push(`${undispatched} outbox messages never dispatched`);
  const pending = await system.pending();
  if (pending > 0) violations.push(`${pending} messages still queued`);
  const dead = await system.transport.deadLetters();
  if (dead.length > 0) violations.push(`${dead.length} dead letters: ${dead.map((d) => `${d.messageType}@${d.queue}`).join(', ')}`);

  return { violations, orders: orders.size, charged, declined, coupons: coupons.length, offloadedInvoices };
}

/** Every charged order credited once to its customer's document, recorded on the order, nothing left to dispatch. */
async function verifyLoyalty(system: OrderSystem, orders: Placed[]): Promise<string[]> {
  const violations: string[] = [];
  const { endpoint, store } = system.loyalty!;
  const charged = orders.filter((o) => o.amountCents <= CARD_LIMIT_CENTS);
  const expected = new Map<string, LoyaltyAccount>();
  for (const order of charged) {
    const account = expected.get(order.customerId) ?? { points: 0, orders: 0 };
    expected.set(order.customerId, { points: account.points + pointsFor(order.amountCents), orders: account.orders + 1 });
  }
  for (const [customer, account] of expected) {
    const stored = await store.get(endpoint.keyOf(customer));
    const doc = stored ? (JSON.parse(stored.value) as EntityDocument<LoyaltyAccount>) : undefined;
    if (doc?.state.points !== account.points || doc.state.orders !== account.orders) {
      violations.push(
        `loyalty account of ${customer}: ${doc?.state.points} points/${doc?.state.orders} orders, expected ${account.points}/${account.orders}`,
      );
    }
    const pending = Object.keys(doc?.outbox ?? {}).length;
    if (pending > 0) violations.push(`loyalty account of ${customer} still holds ${pending} undispatched outbox entries`);
  }
  const recorded = new Map(
    (await system.db.query<{ order_id: string; loyalty_points: number | null }>('SELECT order_id, loyalty_points FROM orders')).rows.map(
      (r) => [r.order_id, r.loyalty_points],
    ),
  );
  for (const order of charged) {
    const points = recorded.get(order.orderId);
    if (points !== undefined && points !== pointsFor(order.amountCents))
      violations.push(`order ${order.orderId} credited ${points} loyalty points`);
  }
  return violations;
}

/** Waits until no message is queued or waiting in an outbox for `settleMs`, or the timeout. */
export async function waitUntilQuiet(system: OrderSystem, timeoutMs: number, settleMs = 300): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quietSince: number | undefined;
  while (Date.now() < deadline) {
    const undispatched = n(
      (await system.db.query<{ c: string }>('SELECT count(*) AS c FROM outbox WHERE dispatched_at IS NULL')).rows[0].c,
    );
    const busy = (await system.pending()) + undispatched;
    if (busy === 0) {
      quietSince ??= Date.now();
      if (Date.now() - quietSince >= settleMs) return true;
    } else {
      quietSince = undefined;
    }
    await sleep(100);
  }
  return false;
}
