/**
 * System-wide views over a time window: anomalies (from flow records), duplicate/retry storms,
 * trends and topology. Stores aggregate in SQL; the pure analysis shapes the rows.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildTopology, DEFAULT_STORM_OPTIONS, detectStorms, shapeTrends } from '../analysis/index.js';
import { TREND_GROUPINGS, type TimeWindow } from '../contract/index.js';
import type { Storm } from '../model/flow.js';
import type { ApiContext } from './context.js';
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

/** Top message ids listed per storm. */
const STORM_TOP_KEYS = 5;
/** Storms returned per request (each costs one top-keys query). */
const MAX_STORMS = 100;

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
    const stepMs = resolveStep(query.step, window);
    // Read a baseline's worth of buckets before the window so its first buckets can be judged.
    const seriesFromMs = Math.floor(window.fromMs / stepMs) * stepMs - DEFAULT_STORM_OPTIONS.baselineBuckets * stepMs;
    const rows = await store.activityBuckets({ fromMs: seriesFromMs, toMs: window.toMs }, stepMs);
    const episodes = detectStorms(rows, { ...DEFAULT_STORM_OPTIONS, stepMs, fromMs: seriesFromMs, now: Math.min(ctx.clock(), window.toMs) })
      .filter((storm) => storm.endMs > window.fromMs)
      .slice(0, MAX_STORMS);
    const storms: Storm[] = await Promise.all(
      episodes.map(async (storm) => {
        const stormWindow = { fromMs: storm.startMs, toMs: Math.max(storm.endMs, storm.startMs + stepMs) };
        const topKeys = await store.topKeys(stormWindow, storm.service, storm.messageType, storm.kind, STORM_TOP_KEYS);
        return { ...storm, topKeys };
      }),
    );
    return { ...windowJson(window), stepMs, storms };
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
