#!/usr/bin/env node
/**
 * The demo: every service of the order system in one process on the embedded defaults
 * (PGlite + the table queue; RabbitMQ / PostgreSQL when AMQP_URL / DATABASE_URL are set),
 * a steady trickle of orders, and the faults of a scenario, each service reporting under its
 * own service name. Runs until SIGINT/SIGTERM. `onceflow serve --demo` starts it as a child.
 *
 *   node dist/demo.js [--otlp URL] [--scenario NAME] [--rate N] [--data DIR] [--seed S] [--count N]
 */
import { mkdtempSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { declaredResource, SCENARIOS, scenarioPlan } from './faults/faults.js';
import { startMultiServiceTelemetry } from './telemetry/multi-service.js';
import { runAs } from './telemetry/service-scope.js';

const LOAD_GENERATOR = 'load-generator';

const { values } = parseArgs({
  options: {
    otlp: { type: 'string', default: process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318' },
    scenario: { type: 'string', default: 'demo' },
    rate: { type: 'string', default: '1' },
    data: { type: 'string' },
    seed: { type: 'string' },
    count: { type: 'string' },
    'shop-port': { type: 'string', default: '0' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log('usage: demo [--otlp URL] [--scenario NAME] [--rate N] [--data DIR] [--seed S] [--count N] [--shop-port P]\n\nscenarios:');
  for (const [name, s] of Object.entries(SCENARIOS)) console.log(`  ${name.padEnd(18)} ${s.description}`);
  process.exit(0);
}

const logger = pino({ name: 'onceflow-demo', level: process.env.LOG_LEVEL ?? 'info' });

// Registered first: a signal during start-up must stop the demo too (some libraries install
// their own handlers, which would otherwise swallow it).
const stopping = new AbortController();
const running: { stop?: () => Promise<void> } = {};
let shuttingDown = false;
async function shutdown(signal: string) {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info({ signal }, 'shutting down');
  stopping.abort();
  const hardStop = setTimeout(() => process.exit(1), 15_000);
  hardStop.unref();
  const started = Date.now();
  await running.stop?.().catch((error: unknown) => logger.error({ err: error }, 'stopping the system failed'));
  logger.info({ ms: Date.now() - started }, 'stopped');
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
const rate = Number(values.rate);
if (!(rate > 0)) throw new Error(`--rate must be a positive number, got ${values.rate}`);
const count = values.count === undefined ? undefined : Number(values.count);
// A fresh seed per run: order keys are derived from it, and a reused key is (correctly) the same order.
const seed = values.seed ?? `${values.scenario}-${Date.now().toString(36)}`;
const plan = scenarioPlan(values.scenario!, seed);
const dataDir = values.data ?? mkdtempSync(join(tmpdir(), 'onceflow-demo-'));

// The loader hook must be registered, and tracing started, before express, http and amqplib load.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
const { SERVICES, startSystem } = await import('./system.js');
const telemetry = startMultiServiceTelemetry({
  services: [...SERVICES, LOAD_GENERATOR],
  fallbackService: 'onceflow-demo',
  endpoint: values.otlp,
  drop: plan.dropSpans ? { share: plan.dropSpans, seed } : undefined,
  resourceOf: (service) => declaredResource(plan, service),
});
const { driveOrders } = await import('./load-generator.js');

logger.info({ scenario: values.scenario, rate, seed, data: dataDir, otlp: values.otlp }, 'starting the order system');
const system = await startSystem({
  databaseUrl: process.env.DATABASE_URL,
  schema: process.env.DATABASE_URL ? 'onceflow_demo' : undefined,
  amqpUrl: process.env.AMQP_URL,
  redisUrl: process.env.REDIS_URL,
  queuePrefix: 'onceflow-demo',
  dataDir: values.data ? join(dataDir, 'pglite') : undefined,
  blobDir: join(dataDir, 'blobs'),
  truthPath: join(dataDir, 'ground-truth.jsonl'),
  plan,
  shopPort: Number(values['shop-port']),
  logger,
});
logger.info(
  { shop: system.shopUrl, paymentProvider: system.providerUrl, truth: join(dataDir, 'ground-truth.jsonl') },
  'order system running',
);

const driving = runAs(LOAD_GENERATOR, () =>
  driveOrders({
    shopUrl: system.shopUrl!,
    seed,
    rate,
    count,
    signal: stopping.signal,
    onError: (error) => logger.warn({ err: error }, 'placing an order failed'),
  }),
);
running.stop = async () => {
  await driving.catch(() => undefined);
  await system.stop();
  // Spans still buffered go out now; an unreachable collector must not hold the exit up.
  await Promise.race([telemetry.shutdown(), new Promise((resolve) => setTimeout(resolve, 3_000))]);
};

if (count !== undefined) {
  const placed = await driving;
  logger.info({ orders: placed.length }, 'all orders placed; running until stopped');
}
