/** `GET /api/live` (Server-Sent Events): each event's name and the shape of its JSON data. */
import { z } from 'zod/mini';
import { AnomalySchema } from './anomalies.js';
import { FlowSummarySchema } from './flows.js';
import { TopologySchema } from './topology.js';

export const LIVE_EVENTS = ['flow', 'anomaly', 'anomaly-withdrawn', 'topology'] as const;
export type LiveEventName = (typeof LIVE_EVENTS)[number];

/**
 * `flow`: a summary each time the indexer (re-)analyses a conversation; `anomaly`: the first
 * time one is detected; `anomaly-withdrawn`: one sent before that a later analysis of its flow
 * no longer finds (late spans arrived); `topology`: the map of the last 15 minutes when spans
 * arrived.
 */
export const LiveEventSchemas = {
  flow: FlowSummarySchema,
  anomaly: AnomalySchema,
  'anomaly-withdrawn': AnomalySchema,
  topology: TopologySchema,
} satisfies Record<LiveEventName, z.ZodMiniType>;
export type LiveEventData<E extends LiveEventName> = z.infer<(typeof LiveEventSchemas)[E]>;
