/**
 * System-wide views over a time window: anomalies (from flow records), duplicate/retry storms,
 * trends and topology. Stores aggregate in SQL; the pure analysis shapes the rows.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildTopology, shapeTrends } from '../analysis/index.js';
import { TREND_GROUPINGS, type TimeWindow } from '../contract/index.js';
import type { ApiContext } from './context.js';
import { reportStorms } from './storm-report.js';
import {
  anomalyKindParam,
  enumParam,
  intParam,
  parseParams,
  resolveStep,
  resolveWindow,
  stepParam,
  textParam,
  windowParams,
} from './params.js';

const anomaliesQuery = z.object({
  ...windowParams,
  kind: anomalyKindParam.optional(),
  service: textParam().optional(),
  limit: intParam(1, 1000).optional(),
});
const stormsQuery = z.object({ ...windowParams, step: stepParam.optional() });
const trendsQuery = z.object({
  ...windowParams,
  step: stepParam.optional(),
  by: enumParam(TREND_GROUPINGS).optional(),
});
const topologyQuery = z.object({ ...windowParams });

export function registerInsightRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { store } = ctx;

  app.get('/api/anomalies', async (request) => {
    const query = parseParams(anomaliesQuery, request.query);
    const window = resolveWindow(query, ctx.clock());
    const anomalies = await store.listAnomalies({ ...window, kind: query.kind, service: query.service, limit: query.limit ?? 200 });
    return { ...windowJson(window), anomalies };
  });

  app.get('/api/storms', async (request) => {
    const query = parseParams(stormsQuery, request.query);
    const window = resolveWindow(query, ctx.clock());
    return reportStorms(store, window, resolveStep(query.step, window), { ...ctx.stormOptions, now: Math.min(ctx.clock(), window.toMs) });
  });

  app.get('/api/trends', async (request) => {
    const query = parseParams(trendsQuery, request.query);
    const window = resolveWindow(query, ctx.clock());
    const stepMs = resolveStep(query.step, window);
    const by = query.by ?? 'service';
    const [spanRows, flowRows] = await Promise.all([store.spanBuckets(window, stepMs, by), store.flowBuckets(window, stepMs)]);
    return shapeTrends(spanRows, flowRows, { ...window, stepMs, by });
  });

  app.get('/api/topology', async (request) => {
    const query = parseParams(topologyQuery, request.query);
    const window = resolveWindow(query, ctx.clock());
    return buildTopology(await store.edgeAggregates(window), window);
  });
}

function windowJson(window: TimeWindow) {
  return { fromMs: window.fromMs, toMs: window.toMs };
}
