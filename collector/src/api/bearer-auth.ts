/**
 * Bearer-token checks for the OTLP receiver (`--ingest-token`) and the REST API
 * (`--api-token`). Tokens are compared in constant time: both sides are hashed to SHA-256
 * first, so neither the content nor the length of the expected token leaks through timing.
 * No token → 401 (with `WWW-Authenticate: Bearer`), a wrong one → 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiErrorBody } from '../contract/index.js';

export interface AuthRefusal {
  statusCode: 401 | 403;
  message: string;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header; null when there is none. */
export function bearerToken(authorization: string | undefined): string | null {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return match ? match[1] : null;
}

/** Checks a presented token (null: none was sent) against the expected one; `what` names the token in messages. */
export function checkToken(presented: string | null, expected: string, what: string): AuthRefusal | null {
  if (presented === null) return { statusCode: 401, message: `this collector requires the ${what}: send "Authorization: Bearer <token>"` };
  if (!tokenMatches(presented, expected)) return { statusCode: 403, message: `the ${what} sent does not match` };
  return null;
}

/** The OTLP receiver's check: the `Authorization` header only (SDKs send it with OTEL_EXPORTER_OTLP_HEADERS). */
export function ingestAuthorizer(token: string): (request: FastifyRequest) => AuthRefusal | null {
  return (request) => checkToken(bearerToken(request.headers.authorization), token, 'ingest token');
}

/** Path of the live stream: the only API route that also takes the token as a query parameter. */
const LIVE_PATH = '/api/live';

/**
 * The API's check, for every `/api/` route. A browser's EventSource cannot set headers, so
 * `/api/live` alone also accepts `?token=`; everywhere else a token in the URL would end up in
 * histories and proxy logs for no reason, so it is not accepted there. The dashboard's static
 * files are not protected: they hold no data.
 */
export function installApiAuth(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const [path, query = ''] = request.url.split('?', 2);
    if (path !== '/api' && !path.startsWith('/api/')) return;
    let presented = bearerToken(request.headers.authorization);
    if (presented === null && path === LIVE_PATH) presented = new URLSearchParams(query).get('token');
    const refusal = checkToken(presented, token, 'API token');
    if (!refusal) return;
    if (refusal.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="onceflow"');
    return reply.code(refusal.statusCode).send({ error: refusal.message, parameter: null } satisfies ApiErrorBody);
  });
}
