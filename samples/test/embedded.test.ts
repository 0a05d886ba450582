/**
 * The order system on its embedded defaults (PGlite + the PostgreSQL-table queue): exactly
 * once under every recoverable fault, and each bug mode really breaks what it should.
 */
import { identityHeaders } from '@onceflow/instrumentation';
import { HTTP_HEADER_IDEMPOTENCY_KEY } from '@onceflow/instrumentation/semconv';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ALL_RECOVERABLE_FAULTS, scenarioPlan } from '../src/faults/faults.js';
import { driveOrders, makeOrder, placeOrder } from '../src/load-generator.js';
import { CLIENT_ID_HEADER } from '../src/services/shop-api.js';
import { verifySystem, waitUntilQuiet } from '../src/verify.js';
import { closeEmbeddedDatabase, COUPON_THRESHOLD, startTestSystem, type TestSystem } from './helpers.js';

let system: TestSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});
afterAll(closeEmbeddedDatabase);

const ORDERS = 20;
const SLOW = 120_000;

describe('order system on PGlite and the table queue', () => {
  it(
    'processes every order exactly once with every recoverable fault enabled',
    async () => {
      system = await startTestSystem({ seed: 'recoverable', all: { ...ALL_RECOVERABLE_FAULTS, slowConsumerMs: 50 } });
      const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'recoverable', rate: 40, count: ORDERS, repeatProbability: 0.2 });
      expect(placed).toHaveLength(ORDERS);
      expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
      const result = await verifySystem(system, placed, COUPON_THRESHOLD);
      expect(result.violations).toEqual([]);
      // The faults really happened.
      const kinds = new Set(system.truth.records.map((r) => r.kind));
      for (const kind of ['duplicate-delivery', 'retry', 'offload', 'http-retry'] as const) expect(kinds).toContain(kind);
      expect(result.offloadedInvoices).toBeGreaterThan(0);
      expect(result.coupons).toBeGreaterThan(0);
    },
    SLOW,
  );

  it(
    'answers a repeated request with the same order and message id',
    async () => {
      system = await startTestSystem({ seed: 'repeat' });
      const order = makeOrder('repeat', 1);
      const first = await placeOrder(system.shopUrl!, order);
      const second = await placeOrder(system.shopUrl!, order);
      expect(second.orderId).toBe(first.orderId);
      expect(second.messageId).toBe(first.messageId);
      expect(second.repeated).toBe(true);
      expect(await waitUntilQuiet(system, 20_000)).toBe(true);
      expect((await verifySystem(system, [first], COUPON_THRESHOLD)).violations).toEqual([]);
    },
    SLOW,
  );

  it(
    'refuses an Idempotency-Key reused with a different body (422); keys are scoped per client',
    async () => {
      system = await startTestSystem({ seed: 'keys' });
      const post = (client: string, key: string, quantity: number) =>
        fetch(`${system!.shopUrl}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [HTTP_HEADER_IDEMPOTENCY_KEY]: key, [CLIENT_ID_HEADER]: client },
          body: JSON.stringify({ customerId: 'customer-1', lines: [{ sku: 'sku-1', quantity, priceCents: 1_000 }] }),
        });
      const first = await post('client-a', 'key-1', 1);
      expect(first.status).toBe(202);
      const { orderId } = (await first.json()) as { orderId: string };
      const reused = await post('client-a', 'key-1', 2);
      expect(reused.status).toBe(422);
      const repeated = await post('client-a', 'key-1', 1);
      expect(repeated.status).toBe(202);
      expect(await repeated.json()).toMatchObject({ orderId, repeated: true });
      const otherClient = await post('client-b', 'key-1', 2);
      expect(otherClient.status).toBe(202);
      const other = (await otherClient.json()) as { orderId: string; repeated: boolean };
      expect(other.repeated).toBe(false);
      expect(other.orderId).not.toBe(orderId);
      expect(await waitUntilQuiet(system, 20_000)).toBe(true);
      // Business state: two orders, each of its own request's amount; the refused body made none.
      const { rows } = await system.db.query<{ order_id: string; amount_cents: string }>(
        'SELECT order_id, amount_cents FROM orders ORDER BY amount_cents',
      );
      expect(rows.map((r) => [r.order_id, Number(r.amount_cents)])).toEqual([
        [orderId, 1_000],
        [other.orderId, 2_000],
      ]);
    },
    SLOW,
  );

  it(
    "shop-api's sweeper sends a SubmitOrder whose dispatch a crash interrupted",
    async () => {
      system = await startTestSystem({ seed: 'shop-sweeper' }, { outbox: { sweepIntervalMs: 100, staleAfterMs: 200, claimMs: 5_000 } });
      const order = {
        orderId: 'order-after-crash',
        customerId: 'customer-1',
        amountCents: 1_500,
        lines: [{ sku: 'sku-1', quantity: 1, priceCents: 1_500 }],
      };
      // What POST /orders committed before the process died, without dispatching it.
      await system.db.query(
        `INSERT INTO outbox (endpoint, message_id, incoming_id, kind, destination, message_type, headers, body)
       VALUES ('shop-api', 'submit-after-crash', 'client-a/key-crash', 'send', 'orders', 'SubmitOrder', $1, $2)`,
        [
          JSON.stringify(
            identityHeaders({ messageId: 'submit-after-crash', conversationId: 'submit-after-crash', messageType: 'SubmitOrder' }),
          ),
          JSON.stringify(order),
        ],
      );
      expect(await waitUntilQuiet(system, 20_000)).toBe(true);
      const { rows } = await system.db.query<{ status: string }>("SELECT status FROM orders WHERE order_id = 'order-after-crash'");
      expect(rows.map((r) => r.status)).toEqual(['shipped']);
    },
    SLOW,
  );

  it(
    'an untraced label printer and a second marketing queue each process every order once',
    async () => {
      system = await startTestSystem({
        seed: 'topology',
        topology: { uninstrumentedConsumer: true, secondQueue: true },
        all: { duplicatePublish: 0.2, crashBeforeAck: 0.2 },
      });
      const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'topology', rate: 40, count: 10 });
      expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
      const result = await verifySystem(system, placed, COUPON_THRESHOLD);
      expect(result.violations).toEqual([]);
      const labels = await system.db.query('SELECT order_id FROM labels');
      expect(labels.rows).toHaveLength(result.charged);
      // Marketing's two queues are two endpoints, each with its own inbox rows for the same OrderBilled.
      const { rows } = await system.db.query<{ endpoint: string; n: string }>(
        "SELECT endpoint, count(*) AS n FROM inbox WHERE endpoint IN ('marketing', 'marketing-analytics') GROUP BY endpoint ORDER BY endpoint",
      );
      expect(rows.map((r) => r.endpoint)).toEqual(['marketing', 'marketing-analytics']);
    },
    SLOW,
  );

  it.each([
    { window: 300, applied: 2, name: 'shorter than the redelivery delay: processed again' },
    { window: 60_000, applied: 1, name: 'longer than the redelivery delay: recognised as a duplicate' },
  ])(
    'a dedup window $name',
    async ({ window, applied }) => {
      system = await startTestSystem(
        { seed: `window-${window}`, services: { marketing: { dedupWindowMs: window, lateRedelivery: 1, lateRedeliveryMs: 1_200 } } },
        { outbox: { sweepIntervalMs: 100, staleAfterMs: 1_000, claimMs: 5_000 } },
      );
      await driveOrders({ shopUrl: system.shopUrl!, seed: `window-${window}`, rate: 40, count: 3 });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await waitUntilQuiet(system, 30_000, 1_500)).toBe(true);
      // Marketing's ledger: how often each message it received was applied.
      const { rows } = await system.db.query<{ message_id: string; n: string }>(
        'SELECT message_id, count(*) AS n FROM marketing_ledger GROUP BY message_id',
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => Number(r.n)))).toEqual(new Set([applied]));
    },
    SLOW,
  );

  it(
    'claim check: an aborted attempt deletes its blob, a vanished blob dead-letters its reader, garbage is collected',
    async () => {
      system = await startTestSystem(
        { seed: 'claim-check', all: { largePayload: 1 }, services: { invoicing: { abortAfterOffload: 0.5, missingBlob: 0.2 } } },
        { blobRetentionMs: 2_000 },
      );
      const orphan = await system.blobs.put('orphan-from-a-crashed-attempt', Buffer.from('nobody refers to me'));
      await driveOrders({ shopUrl: system.shopUrl!, seed: 'claim-check', rate: 40, count: 10 });
      expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const refs = (await system.db.query<{ message_id: string; blob_ref: string }>('SELECT message_id, blob_ref FROM invoices')).rows;
      const listed = new Set((await system.blobs.list()).map((b) => `blob://invoices/${b.key}`));
      const vanished = new Set((await system.transport.deadLetters()).filter((d) => d.queue === 'shipping').map((d) => d.messageId));
      expect(vanished.size).toBeGreaterThan(0);
      // Every committed invoice's blob is there unless it vanished on purpose, and nothing else is.
      for (const r of refs)
        expect({ ref: r.blob_ref, listed: listed.has(r.blob_ref) }).toEqual({ ref: r.blob_ref, listed: !vanished.has(r.message_id) });
      expect(listed.size).toBe(refs.length - vanished.size);
      expect(listed.has(orphan)).toBe(false);
      // Aborted first attempts left nothing behind: their retries' blobs are the ones referenced.
      expect(refs.some((r) => r.blob_ref.endsWith('-a2'))).toBe(true);
    },
    SLOW,
  );

  it(
    'dead-letters poison messages after the last attempt',
    async () => {
      system = await startTestSystem({ seed: 'poison', services: { shipping: { poison: 0.3 } } });
      const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'poison', rate: 40, count: 15 });
      expect(await waitUntilQuiet(system, 30_000)).toBe(true);
      const dead = await system.transport.deadLetters();
      const poisoned = system.truth.records.filter((r) => r.kind === 'dead-letter');
      expect(poisoned.length).toBeGreaterThan(0);
      expect(dead.map((d) => d.messageId).sort()).toEqual(poisoned.map((r) => r.messageId).sort());
      expect(placed.length).toBe(15);
    },
    SLOW,
  );

  it(
    'a charge made by attempts that never committed stays in the ledger when the message is dead-lettered',
    async () => {
      system = await startTestSystem({ seed: 'side-effect', services: { billing: { poisonAfterPrepare: 0.3 } } });
      await driveOrders({ shopUrl: system.shopUrl!, seed: 'side-effect', rate: 40, count: 12 });
      expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
      const dead = (await system.transport.deadLetters()).filter((d) => d.queue === 'billing');
      expect(dead.length).toBeGreaterThan(0);
      // Business state: the provider charged those orders once each, billing never recorded them.
      const { rows } = await system.db.query<{ order_id: string; recorded: boolean }>(
        'SELECT l.order_id, b.order_id IS NOT NULL AS recorded FROM provider_ledger l LEFT JOIN billing_charges b ON b.order_id = l.order_id',
      );
      const unrecorded = rows.filter((r) => !r.recorded).map((r) => r.order_id);
      expect(unrecorded).toHaveLength(dead.length);
      expect(new Set(rows.map((r) => r.order_id)).size).toBe(rows.length);
    },
    SLOW,
  );

  it(
    'BUG dedup disabled: marketing processes a redelivered OrderBilled twice',
    async () => {
      system = await startTestSystem(scenarioPlan('double-processing', 'double'));
      const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'double', rate: 40, count: ORDERS });
      expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
      const doubled = system.truth.records.filter((r) => r.kind === 'duplicate-processing');
      expect(doubled.length).toBeGreaterThan(0);
      const result = await verifySystem(system, placed, COUPON_THRESHOLD);
      expect(result.violations.some((v) => v.startsWith('customer '))).toBe(true);
    },
    SLOW,
  );

  it(
    'BUG publish before commit: billing charges orders that were never recorded (ghosts)',
    async () => {
      system = await startTestSystem({ seed: 'ghost', services: { orders: { ghost: 0.3 } } });
      const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'ghost', rate: 40, count: ORDERS });
      expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
      const ghosts = system.truth.records.filter((r) => r.kind === 'ghost-message');
      expect(ghosts.length).toBeGreaterThan(0);
      const result = await verifySystem(system, placed, COUPON_THRESHOLD);
      // The order row was rolled back, yet the customer was charged.
      expect(result.violations.some((v) => /is missing/.test(v))).toBe(true);
      const { rows } = await system.providerDb.query<{ order_id: string }>('SELECT order_id FROM provider_ledger');
      const recorded = new Set((await system.db.query<{ order_id: string }>('SELECT order_id FROM orders')).rows.map((r) => r.order_id));
      expect(rows.some((r) => !recorded.has(r.order_id))).toBe(true);
    },
    SLOW,
  );

  it(
    'BUG publish before a commit that succeeds: the messages leave first, once, and the outbox records them as sent',
    async () => {
      system = await startTestSystem({ seed: 'premature', services: { orders: { prematurePublish: 0.5 } } });
      const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'premature', rate: 40, count: 10 });
      expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
      const early = system.truth.records.filter((r) => r.kind === 'premature-publish').map((r) => r.messageId);
      expect(early.length).toBeGreaterThan(0);
      const { rows } = await system.db.query<{ message_id: string; dispatched: boolean }>(
        "SELECT message_id, dispatched_at IS NOT NULL AS dispatched FROM outbox WHERE endpoint = 'orders' AND message_id = ANY($1)",
        [early],
      );
      expect(rows.map((r) => [r.message_id, r.dispatched]).sort()).toEqual(early.map((id) => [id, true]).sort());
      // Eventually consistent all the same: nothing charged twice, nothing left behind.
      expect((await verifySystem(system, placed, COUPON_THRESHOLD)).violations).toEqual([]);
    },
    SLOW,
  );

  it(
    'BUG inconsistent retry: the retry commits other bodies under the ids its failed attempt already sent',
    async () => {
      system = await startTestSystem({ seed: 'inconsistent', services: { orders: { inconsistentRetry: 0.5 } } });
      const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'inconsistent', rate: 40, count: 8 });
      expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
      const resent = system.truth.records.filter((r) => r.kind === 'inconsistent-output').map((r) => r.messageId);
      expect(resent.length).toBeGreaterThan(0);
      const { rows } = await system.db.query<{ body: string }>(
        "SELECT body FROM outbox WHERE endpoint = 'orders' AND message_id = ANY($1)",
        [resent],
      );
      expect(rows).toHaveLength(resent.length);
      for (const row of rows) expect(JSON.parse(row.body)).toHaveProperty('quotedAtMs');
      // Nothing is charged twice: billing deduplicated the second version by its id.
      expect((await verifySystem(system, placed, COUPON_THRESHOLD)).violations).toEqual([]);
    },
    SLOW,
  );

  it(
    'BUG commit without dispatch: billed orders never reach shipping (lost messages)',
    async () => {
      system = await startTestSystem({ seed: 'lost', services: { billing: { lost: 0.3 } } });
      const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'lost', rate: 40, count: ORDERS });
      expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
      const lost = system.truth.records.filter((r) => r.kind === 'lost-message');
      expect(lost.length).toBeGreaterThan(0);
      const result = await verifySystem(system, placed, COUPON_THRESHOLD);
      // Charged in the ledger, but the order never shipped.
      const { rows } = await system.db.query<{ order_id: string; status: string }>(
        "SELECT order_id, status FROM orders WHERE status = 'submitted'",
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(result.violations.some((v) => /is submitted/.test(v))).toBe(true);
    },
    SLOW,
  );
});
