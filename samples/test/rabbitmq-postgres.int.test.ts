/**
 * The same order system on RabbitMQ + PostgreSQL (+ Redis for the key-value service): exactly once under every recoverable fault,
 * and a bug mode that really loses messages. Each test works in its own schema and queues.
 */
import { randomBytes } from 'node:crypto';
import { AMQP_URL, DATABASE_URL, REDIS_URL, requirePostgres, requireRabbitMQ, requireRedis } from '@onceflow/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { dropSchema } from '../src/infra/database.js';
import { ALL_RECOVERABLE_FAULTS, type FaultPlan } from '../src/faults/faults.js';
import { driveOrders } from '../src/load-generator.js';
import { verifySystem, waitUntilQuiet } from '../src/verify.js';
import { COUPON_THRESHOLD, startTestSystem, type TestSystem } from './helpers.js';

const rabbit = await requireRabbitMQ();
const postgres = await requirePostgres();
const redis = await requireRedis();

let system: TestSystem | undefined;
let schema = '';
afterEach(async () => {
  await system?.transport.destroy?.();
  const loyalty = system?.loyalty;
  if (loyalty) for (const key of await loyalty.store.keys(loyalty.endpoint.keyOf(''))) await loyalty.store.delete(key);
  await system?.stop();
  system = undefined;
  if (schema) await dropSchema(DATABASE_URL, schema);
});

async function startReal(plan: FaultPlan): Promise<TestSystem> {
  const suffix = randomBytes(4).toString('hex');
  schema = `samples_${suffix}`;
  return startTestSystem(plan, {
    databaseUrl: DATABASE_URL,
    schema,
    amqpUrl: AMQP_URL,
    queuePrefix: `samples-${suffix}`,
    redisUrl: REDIS_URL,
    keyPrefix: `samples-${suffix}:`,
    concurrency: 4,
  });
}

const ORDERS = 25;

describe.skipIf(!rabbit || !postgres || !redis)('order system on RabbitMQ and PostgreSQL', () => {
  it('processes every order exactly once with every recoverable fault enabled', async () => {
    system = await startReal({ seed: 'real-recoverable', all: { ...ALL_RECOVERABLE_FAULTS, slowConsumerMs: 50 } });
    const placed = await driveOrders({
      shopUrl: system.shopUrl!,
      seed: 'real-recoverable',
      rate: 50,
      count: ORDERS,
      repeatProbability: 0.2,
    });
    expect(placed).toHaveLength(ORDERS);
    expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
    const result = await verifySystem(system, placed, COUPON_THRESHOLD);
    expect(result.violations).toEqual([]);
    const kinds = new Set(system.truth.records.map((r) => r.kind));
    for (const kind of ['duplicate-delivery', 'retry', 'offload', 'http-retry'] as const) expect(kinds).toContain(kind);
  }, 120_000);

  it('dead-letters poison messages through the dead-letter queue', async () => {
    system = await startReal({ seed: 'real-poison', services: { shipping: { poison: 0.3 } } });
    await driveOrders({ shopUrl: system.shopUrl!, seed: 'real-poison', rate: 50, count: 15 });
    expect(await waitUntilQuiet(system, 60_000, 500)).toBe(true);
    const poisoned = system.truth.records.filter((r) => r.kind === 'dead-letter').map((r) => r.messageId);
    expect(poisoned.length).toBeGreaterThan(0);
    expect((await system.transport.deadLetters()).map((d) => d.messageId).sort()).toEqual(poisoned.sort());
  }, 120_000);

  it('BUG dedup disabled: a redelivered OrderBilled is processed twice by marketing', async () => {
    system = await startReal({ seed: 'real-double', all: { crashBeforeAck: 0.3 }, services: { marketing: { dedupDisabled: true } } });
    const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'real-double', rate: 50, count: ORDERS });
    expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
    expect(system.truth.records.some((r) => r.kind === 'duplicate-processing')).toBe(true);
    const result = await verifySystem(system, placed, COUPON_THRESHOLD);
    expect(result.violations.some((v) => v.startsWith('customer '))).toBe(true);
  }, 120_000);

  it('BUG publish before commit: customers are charged for orders that do not exist (ghosts)', async () => {
    system = await startReal({ seed: 'real-ghost', services: { orders: { ghost: 0.3 } } });
    const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'real-ghost', rate: 50, count: ORDERS });
    expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
    expect(system.truth.records.some((r) => r.kind === 'ghost-message')).toBe(true);
    const result = await verifySystem(system, placed, COUPON_THRESHOLD);
    expect(result.violations.some((v) => /is missing/.test(v))).toBe(true);
    const charged = (await system.providerDb.query<{ order_id: string }>('SELECT order_id FROM provider_ledger')).rows;
    const recorded = new Set((await system.db.query<{ order_id: string }>('SELECT order_id FROM orders')).rows.map((r) => r.order_id));
    expect(charged.some((r) => !recorded.has(r.order_id))).toBe(true);
  }, 120_000);

  it('BUG commit without dispatch: orders stay unshipped (lost messages)', async () => {
    system = await startReal({ seed: 'real-lost', services: { billing: { lost: 0.3 } } });
    const placed = await driveOrders({ shopUrl: system.shopUrl!, seed: 'real-lost', rate: 50, count: ORDERS });
    expect(await waitUntilQuiet(system, 60_000, 1_000)).toBe(true);
    expect(system.truth.records.some((r) => r.kind === 'lost-message')).toBe(true);
    const result = await verifySystem(system, placed, COUPON_THRESHOLD);
    expect(result.violations.some((v) => /is submitted/.test(v))).toBe(true);
  }, 120_000);
});
