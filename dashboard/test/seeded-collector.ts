/**
 * A real collector for the dashboard's end-to-end tests and benchmark: `createApp` over an
 * in-memory DuckDB store, seeded with spans, with flow records saved as the indexer would, and
 * serving the built dashboard (`dashboard/dist`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { analyzeConversation } from '../../collector/src/analysis/index.js';
import { createApp } from '../../collector/src/app.js';
import { createLiveHub, type LiveHub } from '../../collector/src/live/live-hub.js';
import { silentLogger } from '../../collector/src/logger.js';
import type { SpanRow } from '../../collector/src/model/span.js';
import { DuckDbStore } from '../../collector/src/store/duckdb/duckdb-store.js';

export const DASHBOARD_DIST = fileURLToPath(new URL('../dist', import.meta.url));

export function requireDashboardBuild(): void {
  if (!existsSync(`${DASHBOARD_DIST}/index.html`)) {
    throw new Error(
      `The dashboard is not built (${DASHBOARD_DIST}/index.html is missing). Run \`npm run build -w @onceflow/dashboard\` (the root \`npm test\` builds first).`,
    );
  }
}

export interface SeededCollector {
  url: string;
  app: FastifyInstance;
  store: DuckDbStore;
  /** Publishes to the dashboard's `/api/live` stream. */
  live: LiveHub;
  close(): Promise<void>;
}

export async function startSeededCollector(
  spans: SpanRow[],
  options: { now: number; quietPeriodMs: number; apiToken?: string },
): Promise<SeededCollector> {
  const store = new DuckDbStore({ path: ':memory:' });
  await store.init();
  if (spans.length > 0) {
    await store.insertSpans(spans);
    const byConversation = new Map<string, SpanRow[]>();
    for (const span of spans) {
      if (!span.conversationId) continue;
      const list = byConversation.get(span.conversationId) ?? [];
      list.push(span);
      byConversation.set(span.conversationId, list);
    }
    await store.saveFlows([...byConversation.values()].map((list) => analyzeConversation(list, options)));
  }
  const logger = silentLogger();
  const live = createLiveHub({ logger });
  const app = await createApp({
    store,
    logger,
    live,
    dashboardDir: DASHBOARD_DIST,
    quietPeriodMs: options.quietPeriodMs,
    apiToken: options.apiToken,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    store,
    live,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
