/**
 * Real mode, a real crash (RabbitMQ + PostgreSQL + Redis): orders runs as its own process. Its
 * attempt at the first order commits, claims its outbox rows and the process is killed
 * (SIGKILL) before sending them. Restarted, it finds the SubmitOrder redelivered (a duplicate,
 * the claim is not its own) and its sweeper sends the rows once the dead process's claim has
 * run out: the order ends charged, shipped and invoiced, once.
 *
 *   this process: shop-api, billing, shipping, invoicing, marketing, loyalty, payment-provider
 *   child:        orders ── commit, claim ──╳ SIGKILL
 *   child again:  orders ── redelivery: duplicate ── sweeper ──► OrderSubmitted, BillCustomer
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { deterministicMessageId } from '@onceflow/instrumentation';
import { AMQP_URL, DATABASE_URL, REDIS_URL, requirePostgres, requireRabbitMQ, requireRedis } from '@onceflow/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { decide, scenarioPlan } from '../src/faults/faults.js';
import { dropSchema } from '../src/infra/database.js';
import { makeOrder, placeOrder } from '../src/load-generator.js';
import { SERVICES } from '../src/messages.js';
import { verifySystem, waitUntilQuiet } from '../src/verify.js';
import { COUPON_THRESHOLD, startTestSystem, type TestSystem } from './helpers.js';

const available = (await requireRabbitMQ()) && (await requirePostgres()) && (await requireRedis());
const suffix = randomBytes(4).toString('hex');
const schema = `crash_${suffix}`;
const prefix = `crash-${suffix}`;
const seed = `crash-${suffix}`;
const tsx = createRequire(import.meta.url).resolve('tsx/cli');
const serviceScript = fileURLToPath(new URL('../src/service.ts', import.meta.url));

let system: TestSystem | undefined;
let child: ChildProcess | undefined;

afterAll(async () => {
  child?.kill('SIGTERM');
  await system?.transport.destroy?.();
  const loyalty = system?.loyalty;
  if (loyalty) for (const key of await loyalty.store.keys(loyalty.endpoint.keyOf(''))) await loyalty.store.delete(key);
  await system?.stop();
  if (available) await dropSchema(DATABASE_URL, schema);
});

/** Starts orders as its own process; resolves once it is consuming. */
function startOrders(scenario: string, extra: string[]): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    [
      tsx,
      serviceScript,
      '--service',
      'orders',
      '--schema',
      schema,
      '--queue-prefix',
      prefix,
      '--scenario',
      scenario,
      '--seed',
      seed,
      '--claim-ms',
      '2000',
      '--sweep-ms',
      '500',
      '--otlp',
      'http://127.0.0.1:9',
      ...extra,
    ],
    { env: { ...process.env, DATABASE_URL, AMQP_URL, REDIS_URL, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('service running')) resolve(proc);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code, signal) => reject(new Error(`orders exited (${code ?? signal}) before it ran:\n${output.slice(-2000)}`)));
  });
}

const exited = (proc: ChildProcess) =>
  new Promise<NodeJS.Signals | number | null>((resolve) => proc.once('exit', (code, signal) => resolve(signal ?? code)));

/** The first order whose SubmitOrder the plan crashes orders on. */
function orderThatCrashes() {
  const plan = scenarioPlan('commit-then-crash', seed);
  for (let n = 0; n < 500; n++) {
    const order = makeOrder(seed, n);
    const messageId = deterministicMessageId(`${order.customerId}/${order.key}`, 'shop-api', 'SubmitOrder');
    if (decide(plan, plan.all!.crashAfterCommit!, 'commit-crash', 'orders', messageId)) return order;
  }
  throw new Error('no order of the first 500 is chosen to crash');
}

describe.skipIf(!available)('a process killed between commit and dispatch, then restarted', () => {
  it('completes the order once: the restarted sweeper sends what the dead process committed', async () => {
    system = await startTestSystem(
      { seed },
      {
        databaseUrl: DATABASE_URL,
        schema,
        amqpUrl: AMQP_URL,
        queuePrefix: prefix,
        redisUrl: REDIS_URL,
        keyPrefix: `${prefix}:`,
        services: SERVICES.filter((s) => s !== 'orders'),
        visibilityTimeoutMs: 2_000,
      },
    );
    const order = orderThatCrashes();
    child = await startOrders('commit-then-crash', ['--crash-exits']);
    const died = exited(child);
    const placed = await placeOrder(system.shopUrl!, order);
    // Killed: by the signal itself, or exit status 137 where tsx relays it.
    expect(['SIGKILL', 137]).toContain(await died);

    // What the crash left: the order committed, its two messages claimed and never sent.
    const { rows } = await system.db.query<{ message_type: string; dispatched: boolean }>(
      "SELECT message_type, dispatched_at IS NOT NULL AS dispatched FROM outbox WHERE endpoint = 'orders' ORDER BY message_type",
    );
    expect(rows).toEqual([
      { message_type: 'BillCustomer', dispatched: false },
      { message_type: 'OrderSubmitted', dispatched: false },
    ]);

    child = await startOrders('healthy', []);
    expect(await waitUntilQuiet(system, 90_000, 2_000)).toBe(true);
    expect((await verifySystem(system, [placed], COUPON_THRESHOLD)).violations).toEqual([]);
  }, 150_000);
});
