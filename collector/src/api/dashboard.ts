/**
 * Serves the built dashboard (`dashboard/dist`) next to the API: static files, and
 * `index.html` for any other non-API path so the single-page app's routes survive a reload.
 * When the dashboard is not built, `/` says how to build it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { ApiErrorBody } from '../contract/index.js';

export const NOT_BUILT_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Onceflow</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Onceflow is running</h1>
<p>The dashboard is not built yet. Build it with <code>npm run build</code> at the repository root
(or <code>npm run build -w @onceflow/dashboard</code>) and reload this page.</p>
<p>The API answers meanwhile: <a href="/api/health">/api/health</a>, <a href="/api/flows">/api/flows</a>.</p>
</body></html>
`;

export async function registerDashboard(app: FastifyInstance, dashboardDir: string | undefined): Promise<void> {
  const built = dashboardDir !== undefined && existsSync(join(dashboardDir, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, { root: dashboardDir, prefix: '/', wildcard: true });
  } else {
    app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT_PAGE));
  }
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    if (path === '/api' || path.startsWith('/api/') || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return reply.code(404).send({ error: `no such endpoint: ${request.method} ${path}`, parameter: null } satisfies ApiErrorBody);
    }
    if (!built) return reply.code(404).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').sendFile('index.html');
  });
}
