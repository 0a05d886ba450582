/**
 * `GET /api/coverage`: instrumentation coverage per service and endpoint over a window — the
 * store counts in one SQL aggregate, `analysis/coverage.ts` shapes it (docs/api.md).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { shapeCoverage } from '../analysis/coverage.js';
import type { ApiContext } from './context.js';
import { parseParams, resolveWindow, windowParams } from './params.js';

/** Buckets of the export numbers: the holes found are the same at any width; a minute keeps the rows few. */
const EXPORT_STEP_MS = 60_000;
const coverageQuery = z.object({ ...windowParams });

export function registerCoverageRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/coverage', async (request) => {
    const window = resolveWindow(parseParams(coverageQuery, request.query), ctx.clock());
    const [rows, exportRows] = await Promise.all([ctx.store.coverageAggregates(window), ctx.store.exportSequences(window, EXPORT_STEP_MS)]);
    return shapeCoverage(rows, window, exportRows);
  });
}
