/** `GET /api/live`: Server-Sent Events (`flow`, `anomaly`, `anomaly-withdrawn`, `topology`) from the live hub. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.js';

export function registerLiveRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/live', (request, reply) => {
    reply.hijack();
    // The hub owns the socket from here; let it go idle-free (no request timeout on streams).
    request.raw.socket.setTimeout(0);
    ctx.live.attach(reply.raw);
  });
}
