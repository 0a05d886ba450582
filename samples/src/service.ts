#!/usr/bin/env node
/**
 * One service per process: `node dist/service.js --service billing`. The processes share
 * PostgreSQL (DATABASE_URL, required: state, and the table queue unless AMQP_URL names a
 * RabbitMQ) and each starts Onceflow with its own service name, the one-line way a user would.
 *
 *   DATABASE_URL=postgres://… node dist/service.js --service payment-provider --port 7001
 *   DATABASE_URL=postgres://… node dist/service.js --service billing --provider-url http://127.0.0.1:7001
 *   DATABASE_URL=postgres://… node dist/service.js --service shop-api --port 7000
 *   node dist/service.js --service load-generator --shop-url http://127.0.0.1:7000 --rate 2
 *
 * `--crash-exits` makes an injected crash (e.g. scenario commit-then-crash) kill the process.
 */
import { register } from 'node:module';
import { parseArgs } from 'node:util';
import { startOnceflow } from '@onceflow/instrumentation';
import pino from 'pino';
import { scenarioPlan } from './faults/faults.js';
import { SERVICES } from './messages.js';

const { values } = parseArgs({
  options: {
    service: { type: 'string' },
    otlp: { type: 'string', default: process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318' },
    scenario: { type: 'string', default: 'healthy' },
    seed: { type: 'string', default: 'services' },
    port: { type: 'string', default: '0' },
    'provider-url': { type: 'string', default: process.env.PAYMENT_PROVIDER_URL },
    'shop-url': { type: 'string', default: process.env.SHOP_URL },
    rate: { type: 'string', default: '1' },
    schema: { type: 'string', default: 'onceflow_samples' },
    truth: { type: 'string' },
    'blob-dir': { type: 'string', default: './.onceflow-samples/blobs' },
    'queue-prefix': { type: 'string', default: 'onceflow-samples' },
    /** An injected crash kills this process (SIGKILL) instead of being simulated in it. */
    'crash-exits': { type: 'boolean', default: false },
    /** Outbox claim length and sweep interval, ms (a restarted process recovers sooner with short ones). */
    'claim-ms': { type: 'string' },
    'sweep-ms': { type: 'string' },
  },
});

const service = values.service ?? '';
const known = [...SERVICES, 'load-generator'];
if (!known.includes(service)) {
  console.error(`--service must be one of ${known.join(', ')}`);
  process.exit(2);
}
const logger = pino({ name: service, level: process.env.LOG_LEVEL ?? 'info' });

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
const telemetry = startOnceflow({ serviceName: service, endpoint: values.otlp });

let stop: () => Promise<void>;
if (service === 'load-generator') {
  if (!values['shop-url']) throw new Error('--shop-url (or SHOP_URL) is required for the load generator');
  const { driveOrders } = await import('./load-generator.js');
  const stopping = new AbortController();
  const driving = driveOrders({
    shopUrl: values['shop-url'],
    seed: `${values.seed}-${Date.now().toString(36)}`,
    rate: Number(values.rate),
    signal: stopping.signal,
    onError: (error) => logger.warn({ err: error }, 'placing an order failed'),
  });
  stop = async () => {
    stopping.abort();
    await driving;
  };
} else {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is required when services run as separate processes (they share PostgreSQL)');
  if (service === 'billing' && !values['provider-url']) throw new Error('--provider-url (or PAYMENT_PROVIDER_URL) is required for billing');
  const { startSystem } = await import('./system.js');
  const port = Number(values.port);
  const system = await startSystem({
    databaseUrl,
    schema: values.schema,
    amqpUrl: process.env.AMQP_URL,
    redisUrl: process.env.REDIS_URL,
    queuePrefix: values['queue-prefix'],
    exitOnCrash: values['crash-exits'],
    outbox: {
      ...(values['claim-ms'] ? { claimMs: Number(values['claim-ms']) } : {}),
      ...(values['sweep-ms'] ? { sweepIntervalMs: Number(values['sweep-ms']), staleAfterMs: Number(values['sweep-ms']) } : {}),
    },
    services: [service as (typeof SERVICES)[number]],
    providerUrl: service === 'payment-provider' ? undefined : (values['provider-url'] ?? 'http://127.0.0.1:0'),
    providerPort: port,
    shopPort: port,
    blobDir: values['blob-dir'],
    truthPath: values.truth,
    plan: scenarioPlan(values.scenario!, values.seed),
    logger,
  });
  logger.info(
    { service, shop: system.shopUrl, paymentProvider: service === 'payment-provider' ? system.providerUrl : undefined },
    'service running',
  );
  stop = () => system.stop();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    void stop()
      .catch((error: unknown) => logger.error({ err: error }, 'stopping failed'))
      .then(() => telemetry.shutdown())
      .finally(() => process.exit(0));
  });
}
