/**
 * One error shape for the whole API: `{ error, parameter }` — `parameter` names the query or
 * path parameter at fault (400), or is null. Unexpected failures are logged and answered 500
 * without internals.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import type { ApiErrorBody } from '../contract/index.js';
import { BadParameterError } from './params.js';

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof BadParameterError) {
      return reply.code(400).send({ error: error.message, parameter: error.parameter } satisfies ApiErrorBody);
    }
    if (error instanceof NotFoundError) {
      return reply.code(404).send({ error: error.message, parameter: null } satisfies ApiErrorBody);
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status < 500) return reply.code(status).send({ error: error.message, parameter: null } satisfies ApiErrorBody);
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(500).send({ error: 'internal error; see the collector log', parameter: null } satisfies ApiErrorBody);
  });
}
