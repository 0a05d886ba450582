/** `GET /api/health`: is the collector up, which store, which version, how many spans, how far the store lags the ingest log. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.js';

export function registerHealthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/health', async (_request, reply) => {
    const [health, spans] = await Promise.all([
      ctx.store.health().catch((error: Error) => ({ ok: false, detail: error.message })),
      ctx.store.spanCount().catch(() => null),
    ]);
    const ok = health.ok && spans !== null;
    reply.code(ok ? 200 : 503);
    return {
      status: ok ? 'ok' : 'degraded',
      store: ctx.store.kind,
      storeDetail: health.detail,
      version: ctx.version,
      spans,
      indexer: ctx.indexer?.stats() ?? null,
      ingest: ctx.ingest?.() ?? null,
      liveClients: ctx.live.clientCount(),
    };
  });
}
