/**
 * Wires the whole order system: state database, transport, blob store, the five message
 * endpoints and the two HTTP services. Used by the demo (all in one process), by the
 * per-service entry point, and by the tests. Reads no environment: callers pass everything.
 */
import type { Server } from 'node:http';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pino, { type Logger } from 'pino';
import { faultsFor, type FaultPlan } from './faults/faults.js';
import { createGroundTruth, type GroundTruth } from './faults/ground-truth.js';
import { collectUnreferencedBlobs } from './infra/blob-collector.js';
import { type BlobStore, createFileBlobStore } from './infra/blob-store.js';
import { tracedBlobStore } from './infra/traced-blob-store.js';
import { type Database, openDatabase } from './infra/database.js';
import { DEFAULT_RETRY_POLICY, Endpoint, type Handler, type OutboxOptions, type RetryPolicy } from './infra/endpoint.js';
import { closeServer, listen } from './infra/http.js';
import { migrate } from './infra/schema.js';
import { entityCrashes } from './faults/entity-crash.js';
import type { DocumentStore } from './kv/document-store.js';
import { EntityEndpoint, type EntityHandler } from './kv/entity-endpoint.js';
import { createRedisDocumentStore } from './kv/redis-document-store.js';
import { createTableDocumentStore } from './kv/table-document-store.js';
import { ENDPOINTS, LOYALTY, receiversOfOutgoing, type RelationalEndpointName, ROUTES, SERVICES, type ServiceName } from './messages.js';
import { extraEndpoints } from './services/extra-endpoints.js';
import { loyaltyHandlers } from './services/loyalty.js';
import { billingHandlers } from './services/billing.js';
import { DEFAULT_INVOICE_OPTIONS, type InvoiceOptions, invoicingHandlers } from './services/invoicing.js';
import { marketingHandlers } from './services/marketing.js';
import { ordersHandlers } from './services/orders.js';
import { createPaymentProviderApp, PAYMENT_PROVIDER } from './services/payment-provider.js';
import { createShopApp, SHOP_API } from './services/shop-api.js';
import { shippingHandlers } from './services/shipping.js';
import { bindServicePort, runAs } from './telemetry/service-scope.js';
import { createRabbitTransport } from './transport/rabbitmq.js';
import { TableQueueTransport } from './transport/table-queue.js';
import type { Transport } from './transport/transport.js';

export { SERVICES, type ServiceName } from './messages.js';

export interface SystemOptions {
  /** An open database to use (the caller closes it); else one is opened from the options below. */
  database?: Database;
  /** PostgreSQL for state (and the table queue); PGlite when absent. */
  databaseUrl?: string;
  /** PostgreSQL schema (isolates tests); default `public`. */
  schema?: string;
  /** PGlite data directory; in memory when absent. */
  dataDir?: string;
  /** RabbitMQ; the PostgreSQL-table queue when absent. */
  amqpUrl?: string;
  /** Prefix of RabbitMQ queue and exchange names (isolates tests). */
  queuePrefix?: string;
  /** Redis for the key-value service (loyalty); a compare-and-set table in the database when absent. */
  redisUrl?: string;
  /** Prefix of the key-value service's keys (isolates tests on a shared Redis). */
  keyPrefix?: string;
  /** How long an unreferenced blob is kept before the blob collector deletes it; default 10 minutes. */
  blobRetentionMs?: number;
  /** How long the key-value service keeps processed ids (its dedup window); default a day. */
  dedupWindowMs?: number;
  blobDir?: string;
  plan?: FaultPlan;
  truthPath?: string;
  retry?: RetryPolicy;
  /** An injected crash kills the process (separate service processes) instead of being simulated in it. */
  exitOnCrash?: boolean;
  /** Outbox sweeping and claims (tests shorten them). */
  outbox?: Partial<OutboxOptions>;
  visibilityTimeoutMs?: number;
  pollIntervalMs?: number;
  concurrency?: number;
  shopPort?: number;
  providerPort?: number;
  /** Use this provider instead of starting one (when it runs as its own process). */
  providerUrl?: string;
  invoice?: Partial<InvoiceOptions>;
  couponThresholdCents?: number;
  /** Which services this process runs; default all. */
  services?: readonly ServiceName[];
  logger?: Logger;
}

export interface OrderSystem {
  db: Database;
  /** The payment provider's tables (`provider_*`); the same database in this sample. */
  providerDb: Database;
  transport: Transport;
  blobs: BlobStore;
  truth: GroundTruth;
  plan: FaultPlan;
  shopUrl: string | undefined;
  providerUrl: string;
  endpoints: Endpoint[];
  /** The key-value service (loyalty) and its store, when this process runs it. */
  loyalty: { endpoint: EntityEndpoint; store: DocumentStore } | undefined;
  /** The HTTP edge's outbox (its sweeper runs while shop-api does). */
  shopOutbox: Endpoint | undefined;
  /** Messages still queued or in flight in the system's queues. */
  pending(): Promise<number>;
  stop(): Promise<void>;
}

export const DEFAULT_COUPON_THRESHOLD_CENTS = 20_000;

export async function startSystem(options: SystemOptions = {}): Promise<OrderSystem> {
  const logger = options.logger ?? pino({ name: 'onceflow-samples', level: 'info' });
  const plan = options.plan ?? { seed: 'healthy' };
  const truth = createGroundTruth(options.truthPath);
  const retry = options.retry ?? DEFAULT_RETRY_POLICY;
  const wanted = new Set<string>(options.services ?? SERVICES);
  const blobs = tracedBlobStore(createFileBlobStore(options.blobDir ?? join(tmpdir(), 'onceflow-blobs')));

  // One database holds every service's tables (each service touches only its own); the
  // payment provider's are `provider_*`. Separate databases per service work the same way.
  const ownDb = !options.database;
  const db = options.database ?? (await openDatabase({ url: options.databaseUrl, dataDir: options.dataDir, schema: options.schema }));
  await migrate(db);
  const providerDb = db;

  const transport: Transport = options.amqpUrl
    ? await createRabbitTransport({ url: options.amqpUrl, prefix: options.queuePrefix ?? 'onceflow' })
    : new TableQueueTransport(
        db,
        { visibilityTimeoutMs: options.visibilityTimeoutMs, pollIntervalMs: options.pollIntervalMs },
        {
          onError: (error) => logger.warn({ err: error }, 'receiving from the table queue failed'),
          // Not injected, but real: a slow attempt outlived its lease, so the message comes again.
          onLeaseLost: (m) =>
            truth.record({
              kind: 'duplicate-delivery',
              messageId: m.messageId,
              service: m.queue,
              messageType: m.messageType,
              detail: 'lease expired before ack',
            }),
        },
      );
  const extras = extraEndpoints(plan.topology);
  await transport.setup([...ENDPOINTS.map((queue) => ({ queue, ...ROUTES[queue] })), ...extras.map((e) => e.route)]);

  let providerServer: Server | undefined;
  let shopServer: Server | undefined;
  let providerUrl = options.providerUrl ?? '';
  if (wanted.has(PAYMENT_PROVIDER)) {
    const app = createPaymentProviderApp({ db: providerDb, plan, truth, logger: logger.child({ service: PAYMENT_PROVIDER }) });
    const started = await runAs(PAYMENT_PROVIDER, () => listen(app, options.providerPort ?? 0));
    providerServer = started.server;
    providerUrl = started.url;
    bindServicePort(Number(new URL(started.url).port), PAYMENT_PROVIDER);
  }

  const deps = {
    db,
    transport,
    truth,
    plan,
    retry,
    concurrency: options.concurrency ?? 2,
    outbox: options.outbox,
    exitOnCrash: options.exitOnCrash,
  };
  const handlers: Record<RelationalEndpointName, Record<string, Handler>> = {
    orders: ordersHandlers({ orderKeys: plan.topology?.orderKeys }),
    billing: billingHandlers({ providerUrl, httpTries: 3, withoutKey: faultsFor(plan, 'billing').httpWithoutKey }),
    shipping: shippingHandlers(blobs, { printLabels: plan.topology?.uninstrumentedConsumer }),
    invoicing: invoicingHandlers(blobs, { ...DEFAULT_INVOICE_OPTIONS, ...options.invoice }, plan, truth),
    marketing: marketingHandlers(options.couponThresholdCents ?? DEFAULT_COUPON_THRESHOLD_CENTS),
  };
  const endpoints: Endpoint[] = [];
  for (const name of ENDPOINTS) {
    if (!wanted.has(name) || name === LOYALTY) continue;
    const endpoint = new Endpoint(name, handlers[name], { ...deps, logger: logger.child({ service: name }) });
    await runAs(name, () => endpoint.start());
    endpoints.push(endpoint);
  }
  for (const extra of extras) {
    if (options.services && !wanted.has(extra.service)) continue;
    const endpoint = new Endpoint(extra.name, extra.handlers, {
      ...deps,
      service: extra.service,
      traced: extra.traced,
      logger: logger.child({ service: extra.service }),
    });
    await runAs(extra.service, () => endpoint.start());
    endpoints.push(endpoint);
  }

  let blobCollector: NodeJS.Timeout | undefined;
  if (wanted.has('invoicing')) {
    const retentionMs = options.blobRetentionMs ?? 10 * 60_000;
    const collect = () =>
      void runAs('invoicing', () => collectUnreferencedBlobs(blobs, db, retentionMs)).catch((error: unknown) =>
        logger.warn({ err: error }, 'collecting blobs failed'),
      );
    blobCollector = setInterval(collect, Math.max(1_000, retentionMs / 2));
    blobCollector.unref();
  }

  let loyalty: OrderSystem['loyalty'];
  if (wanted.has(LOYALTY)) {
    const store = options.redisUrl ? await createRedisDocumentStore(options.redisUrl) : await createTableDocumentStore(db);
    const endpoint = new EntityEndpoint(LOYALTY, loyaltyHandlers as Record<string, EntityHandler<unknown, unknown>>, {
      store,
      transport,
      retry,
      logger: logger.child({ service: LOYALTY }),
      concurrency: deps.concurrency,
      dedupWindowMs: faultsFor(plan, LOYALTY).dedupWindowMs || (options.dedupWindowMs ?? 24 * 3_600_000),
      keyPrefix: options.keyPrefix,
      crashAt: entityCrashes(plan, faultsFor(plan, LOYALTY), LOYALTY, truth),
      onResend: (m) => {
        for (const service of receiversOfOutgoing(m)) {
          truth.record({
            kind: 'duplicate-delivery',
            messageId: m.messageId,
            service,
            messageType: m.messageType,
            detail: `${LOYALTY} sent it again`,
          });
        }
      },
    });
    await runAs(LOYALTY, () => endpoint.start());
    loyalty = { endpoint, store };
  }

  let shopUrl: string | undefined;
  let shopOutbox: Endpoint | undefined;
  if (wanted.has(SHOP_API)) {
    const outbox = new Endpoint(SHOP_API, {}, { ...deps, logger: logger.child({ service: SHOP_API }) });
    // No queue to consume, but an outbox whose interrupted dispatches must be recovered.
    runAs(SHOP_API, () => outbox.startSweeper());
    shopOutbox = outbox;
    const started = await runAs(SHOP_API, () => listen(createShopApp(db, outbox), options.shopPort ?? 0));
    shopServer = started.server;
    shopUrl = started.url;
    bindServicePort(Number(new URL(started.url).port), SHOP_API);
  }

  return {
    db,
    providerDb,
    transport,
    blobs,
    truth,
    plan,
    shopUrl,
    providerUrl,
    endpoints,
    loyalty,
    shopOutbox,
    pending: () => transport.pending([...ENDPOINTS, ...extras.map((e) => e.name)]),
    async stop() {
      // Outside in: no new orders, then no new messages, then the third party.
      if (shopServer) await closeServer(shopServer);
      await shopOutbox?.stop();
      if (blobCollector) clearInterval(blobCollector);
      await Promise.all(endpoints.map((e) => e.stop()));
      await loyalty?.endpoint.stop();
      if (providerServer) await closeServer(providerServer);
      await transport.close();
      await loyalty?.store.close();
      if (ownDb) await db.close();
    },
  };
}
