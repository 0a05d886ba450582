/**
 * The collector's application. `createApp` builds the HTTP side: the REST API under `/api`
 * (see docs/api.md), live updates over SSE, and the built dashboard; it only wires what it is
 * given — no environment, no listening — so tests build it around any store.
 * `startCollector` composes everything `onceflow serve` runs (store, OTLP receiver, flow
 * indexer, live feeds, API, retention) from a parsed `ServeConfig` and listens.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ingestAuthorizer, installApiAuth } from './api/bearer-auth.js';
import { registerDashboard } from './api/dashboard.js';
import { installErrorHandler } from './api/errors.js';
import { registerCoverageRoutes } from './api/coverage-routes.js';
import { registerFlowRoutes } from './api/flow-routes.js';
import { registerHealthRoutes } from './api/health-routes.js';
import { registerInsightRoutes } from './api/insight-routes.js';
import { registerLiveRoutes } from './api/live-routes.js';
import type { ApiContext } from './api/context.js';
import type { StormSettings } from './api/storm-report.js';
import type { IngestStatus } from './contract/health.js';
import { inlineScriptHashes, installSecurityHeaders } from './api/security-headers.js';
import { toFlowSummary } from './api/flow-summary.js';
import { DEFAULT_CONFIG, type ServeConfig } from './config.js';
import { createFlowIndexer, type FlowIndexer } from './indexer/flow-indexer.js';
import { openIngestLog } from './ingest/log/ingest-log.js';
import { createOtlpReceiver } from './ingest/receiver.js';
import { createLiveHub, type LiveHub } from './live/live-hub.js';
import { createTopologyFeed } from './live/topology-feed.js';
import type { Logger } from './logger.js';
import { DEFAULT_LIMITS } from './otlp/limits.js';
import { createSpanStore } from './store/create-store.js';
import type { SpanStore } from './store/span-store.js';

export interface AppOptions {
  store: SpanStore;
  logger: Logger;
  /** Built dashboard (`dashboard/dist`); without it `/` explains how to build one. */
  dashboardDir?: string;
  /** Epoch ms; injected by tests. */
  clock?: () => number;
  /** Reported by `/api/health`. */
  indexer?: FlowIndexer;
  /** Where `/api/live` streams from; a private hub (heartbeats only) when absent. */
  live?: LiveHub;
  /** Same quiet period as the indexer's, so a flow reads the same in detail and in lists. */
  quietPeriodMs?: number;
  /** Storm detection settings (e.g. `learningMs`); defaults from `DEFAULT_STORM_OPTIONS`. */
  stormOptions?: StormSettings;
  /** Bearer token every `/api/` request must carry; none when absent. */
  apiToken?: string | null;
  /** The ingest log's lag, reported by `/api/health`. */
  ingest?: () => IngestStatus;
}

/** The collector package's version, from package.json (one level above both src/ and dist/). */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger and fastify's logger type come from different pino typings; same object.
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 1024 },
  });
  const live = options.live ?? createLiveHub({ logger: options.logger });
  const ctx: ApiContext = {
    store: options.store,
    logger: options.logger,
    clock: options.clock ?? Date.now,
    quietPeriodMs: options.quietPeriodMs ?? DEFAULT_CONFIG.quietPeriodMs,
    version: VERSION,
    live,
    indexer: options.indexer,
    stormOptions: options.stormOptions,
    ingest: options.ingest,
  };
  installErrorHandler(app);
  const indexHtml = options.dashboardDir ? join(options.dashboardDir, 'index.html') : null;
  installSecurityHeaders(app, indexHtml && existsSync(indexHtml) ? inlineScriptHashes(readFileSync(indexHtml, 'utf8')) : []);
  if (options.apiToken) installApiAuth(app, options.apiToken);
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    return payload;
  });
  // Streams never end on their own: close them before the server waits for open connections.
  app.addHook('preClose', async () => live.close());
  registerHealthRoutes(app, ctx);
  registerFlowRoutes(app, ctx);
  registerInsightRoutes(app, ctx);
  registerCoverageRoutes(app, ctx);
  registerLiveRoutes(app, ctx);
  await registerDashboard(app, options.dashboardDir);
  return app;
}

export interface RunningCollector {
  /** Base URL of the API and dashboard, e.g. `http://127.0.0.1:8080`. */
  apiUrl: string;
  /** Base URL of the OTLP receiver; spans go to `${otlpUrl}/v1/traces`. */
  otlpUrl: string;
  store: SpanStore;
  indexer: FlowIndexer;
  /**
   * Graceful stop: stop accepting, answer in-flight OTLP requests and store everything
   * acknowledged, stop the indexer, close the API and the store.
   */
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  clock?: () => number;
  /** How often old data is dropped (when `retentionMs` > 0); hourly by default. */
  retentionIntervalMs?: number;
}

/** The store's lag behind the ingest log beyond which the dashboard warns. */
export const INGEST_BEHIND_MS = 10_000;

/** Where the ingest log lives in the data directory (with either store). */
export const INGEST_LOG_DIR = 'ingest-log';

/** Starts everything `onceflow serve` runs, listening on the configured ports. */
export async function startCollector(config: ServeConfig, options: StartOptions): Promise<RunningCollector> {
  const { logger } = options;
  const clock = options.clock ?? Date.now;
  const storeConfig = config.clickhouseUrl
    ? { clickhouseUrl: config.clickhouseUrl, database: config.clickhouseDatabase, cluster: config.clickhouseCluster ?? undefined }
    : { dataDir: config.dataDir, memoryLimitBytes: config.storeMemoryBytes };
  const store = await createSpanStore(storeConfig, logger).catch((error: unknown) => {
    throw explainStoreError(error, config);
  });
  const log = await openIngestLog({
    dir: join(config.dataDir, INGEST_LOG_DIR),
    spoolMaxBytes: config.spoolMaxBytes,
    maxPayloadBytes: DEFAULT_LIMITS.maxBodyBytes,
    logger,
  }).catch(async (error: unknown) => {
    await store.close().catch(() => undefined);
    throw error;
  });
  const live = createLiveHub({ logger });
  const topology = createTopologyFeed({ store, live, logger, clock });
  const indexer = createFlowIndexer({
    store,
    logger,
    clock,
    quietPeriodMs: config.quietPeriodMs,
    onFlows: (records, anomalies, withdrawn) => {
      for (const record of records) live.publish('flow', toFlowSummary(record));
      for (const anomaly of anomalies) live.publish('anomaly', anomaly);
      for (const anomaly of withdrawn) live.publish('anomaly-withdrawn', anomaly);
    },
  });
  const receiver = createOtlpReceiver({
    store,
    log,
    logger,
    authorize: config.ingestToken ? ingestAuthorizer(config.ingestToken) : undefined,
    onSpansStored: (spans) => {
      indexer.noteSpans(spans);
      topology.noteSpans();
    },
  });
  const app = await createApp({
    store,
    logger,
    clock,
    indexer,
    live,
    quietPeriodMs: config.quietPeriodMs,
    stormOptions: { learningMs: config.stormLearningMs },
    dashboardDir: config.dashboardDir ?? undefined,
    apiToken: config.apiToken,
    ingest: () => {
      const { lag, storeError } = receiver.stats();
      return {
        lagBytes: lag.bytes,
        lagSpans: lag.spans,
        oldestUnstoredAgeMs: lag.oldestAgeMs,
        spoolMaxBytes: config.spoolMaxBytes,
        storeError,
        behind: lag.oldestAgeMs > INGEST_BEHIND_MS || (storeError !== null && lag.spans > 0),
      };
    },
  });

  let retentionTimer: NodeJS.Timeout | null = null;
  const closeAll = async () => {
    if (retentionTimer) clearInterval(retentionTimer);
    topology.stop();
    live.close();
    await receiver.close();
    await indexer.stop();
    await app.close();
    await store.close();
  };

  try {
    const apiUrl = await app.listen({ port: config.port, host: config.host });
    const otlpUrl = await receiver.listen(config.otlpPort, config.host);
    await indexer.start();
    topology.start();
    if (config.retentionMs > 0) {
      const dropOld = () =>
        store
          .deleteOlderThan(clock() - config.retentionMs)
          .catch((error: unknown) => logger.error({ err: error }, 'retention cleanup failed'));
      void dropOld();
      retentionTimer = setInterval(dropOld, options.retentionIntervalMs ?? 3_600_000);
      retentionTimer.unref();
    }
    return { apiUrl, otlpUrl, store, indexer, close: closeAll };
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
}

/** A DuckDB file held by another process gets a message saying so and what to do. */
function explainStoreError(error: unknown, config: ServeConfig): unknown {
  const message = (error as Error)?.message ?? '';
  const lock = /Could not set lock on file "([^"]+)"[^]*?\(PID (\d+)\)/.exec(message);
  if (!lock) return error;
  return new Error(
    `the DuckDB file ${lock[1]} is locked by process ${lock[2]}: another collector or DuckDB client has it open. ` +
      `Stop that process, or give this collector its own --data directory (now ${config.dataDir}).`,
    { cause: error },
  );
}
