/**
 * What Onceflow tells its users, as the collector's layers use it. The shapes the REST API
 * returns (flows, messages, deliveries, anomalies, storms, trends, topology) are defined once,
 * in the API contract (`../contract`), and re-exported here; `FlowRecord` is the collector's
 * own: what the flow indexer stores. Times are epoch milliseconds. Types only; no logic.
 */
import type { Anomaly, FlowSummary } from '../contract/index.js';

export {
  ANOMALY_KINDS,
  ANOMALY_STORM_KINDS,
  FLOW_STATES,
  INVARIANTS,
  MESSAGE_STATUSES,
  SEVERITIES,
  STORM_KIND_COUNTS,
  STORM_KINDS,
  TREND_GROUPINGS,
  VERDICTS,
} from '../contract/index.js';
export type {
  Anomaly,
  AnomalyCounts,
  AnomalyKind,
  AnomalyStormCount,
  AnomalyStormKind,
  CausationEdge,
  Delivery,
  EdgeHealth,
  Flow,
  FlowMessage,
  FlowState,
  FlowSummary,
  HttpCall,
  Invariant,
  InvariantVerdict,
  Ledger,
  MessageStatus,
  Send,
  Severity,
  SpanStormCount,
  SpanStormKind,
  Storm,
  StormCount,
  StormKind,
  StormLearningKey,
  StormList,
  Topology,
  TopologyEdge,
  TopologyEdgeKind,
  TopologyNode,
  TopologyNodeKind,
  TrendBucket,
  TrendGrouping,
  TrendMetrics,
  Trends,
  Verdict,
} from '../contract/index.js';

/** A summary plus its anomalies: what the flow indexer stores and the anomalies list reads. */
export interface FlowRecord extends FlowSummary {
  anomalies: Anomaly[];
  /** Epoch ms when this analysis ran; the latest record of a conversation wins. */
  analyzedAtMs: number;
}
