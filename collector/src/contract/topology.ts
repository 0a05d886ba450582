/** `GET /api/topology` (and the `topology` live event): the system map over a window. */
import { z } from 'zod/mini';
import { TimeWindowSchema } from './time-window.js';

export const TOPOLOGY_NODE_KINDS = ['service', 'destination', 'http-peer'] as const;
export const TopologyNodeKindSchema = z.enum(TOPOLOGY_NODE_KINDS);
export type TopologyNodeKind = z.infer<typeof TopologyNodeKindSchema>;

export const TopologyNodeSchema = z.object({
  id: z.string(),
  kind: TopologyNodeKindSchema,
  label: z.string(),
});
export type TopologyNode = z.infer<typeof TopologyNodeSchema>;

/**
 * `send` service → destination, `consume` destination → service, `http` service → service or
 * peer; `route` destination → destination, inferred (not observed): messages of its types sent
 * to the source destination arrive in the target (an exchange or topic routing to a subscriber's
 * queue). A route's rates and health are its target's consume side; its latencies are null.
 */
export const TOPOLOGY_EDGE_KINDS = ['send', 'consume', 'http', 'route'] as const;
export const TopologyEdgeKindSchema = z.enum(TOPOLOGY_EDGE_KINDS);
export type TopologyEdgeKind = z.infer<typeof TopologyEdgeKindSchema>;

/** Worst thing on an edge, for colour: duplicate processing > failure > retry > duplicate > ok. */
export const EDGE_HEALTHS = ['ok', 'duplicates', 'retries', 'failures', 'duplicate-processing'] as const;
export const EdgeHealthSchema = z.enum(EDGE_HEALTHS);
export type EdgeHealth = z.infer<typeof EdgeHealthSchema>;

export const TopologyEdgeSchema = z.object({
  id: z.string(),
  source: z.string(),
  target: z.string(),
  kind: TopologyEdgeKindSchema,
  messageTypes: z.array(z.string()),
  count: z.number(),
  perMinute: z.number(),
  /** Fractions 0..1 of `count`. */
  errorRate: z.number(),
  duplicateRate: z.number(),
  retryRate: z.number(),
  duplicateProcessings: z.number(),
  latencyP50Ms: z.nullable(z.number()),
  latencyP95Ms: z.nullable(z.number()),
  latencyP99Ms: z.nullable(z.number()),
  health: EdgeHealthSchema,
});
export type TopologyEdge = z.infer<typeof TopologyEdgeSchema>;

export const TopologySchema = z.extend(TimeWindowSchema, {
  nodes: z.array(TopologyNodeSchema),
  edges: z.array(TopologyEdgeSchema),
});
export type Topology = z.infer<typeof TopologySchema>;
