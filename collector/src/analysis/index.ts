/**
 * The pure analysis: stored rows in, what Onceflow shows out. No I/O and no clock (`now` is
 * passed in). Pipeline for one conversation: (`model/span-roles`) → conversation-model → anomalies →
 * reconstruct-flow. Aggregates: storms, trends, topology.
 */
export { reconstructFlow, analyzeConversation, summarizeFlow, type FlowOptions } from './reconstruct-flow.js';
export {
  DETECTORS,
  detectAnomalies,
  detectDeadLetters,
  detectDuplicateDeliveries,
  detectDuplicateProcessing,
  detectGhostMessages,
  detectLogicalDuplicates,
  detectLostMessages,
  detectOffloads,
  detectOutOfOrder,
  detectRetries,
  worstSeverity,
  type Detector,
} from './anomalies.js';
export { buildConversationModel, type ConversationModel, type MessageModel, type AttemptModel } from './conversation-model.js';
export { detectStorms, DEFAULT_STORM_OPTIONS, type StormOptions } from './storms.js';
export { shapeTrends, emptyMetrics, type TrendOptions } from './trends.js';
export { buildTopology, edgeHealth, nodeId, HEALTH_THRESHOLDS } from './topology.js';
