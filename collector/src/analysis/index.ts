/**
 * The pure analysis: stored rows in, what Onceflow shows out. No I/O and no clock (`now` is
 * passed in). Pipeline for one conversation: (`model/span-roles`) → conversation-model → anomalies →
 * ledger → reconstruct-flow. Aggregates: storms, trends, topology, subscriptions.
 */
export { reconstructFlow, analyzeConversation, judgeConversation, summarizeFlow, type FlowOptions } from './reconstruct-flow.js';
export {
  DETECTORS,
  detectAnomalies,
  detectDeadLetters,
  detectDuplicateDeliveries,
  detectDuplicateProcessing,
  detectGhostMessages,
  detectInconsistentOutputs,
  detectMissedDeliveries,
  detectPrematurePublishes,
  detectStuckOutboxes,
  detectLogicalDuplicates,
  detectLostMessages,
  detectOffloads,
  detectOutOfOrder,
  detectRetries,
  worstSeverity,
  type Detector,
} from './anomalies.js';
export {
  buildConversationModel,
  quietPeriodFor,
  type ConversationModel,
  type MessageModel,
  type AttemptModel,
  type ModelOptions,
} from './conversation-model.js';
export { buildLedger, overallVerdict } from './ledger.js';
export { findEntryLosses, findExportLosses, lossesDuring, describeLosses, type EntryLoss, type ExportLoss } from './export-losses.js';
export {
  consumedKey,
  learnSubscriptions,
  subscribersOf,
  subscriptionKey,
  type Subscriptions,
  type Subscribers,
  type TypeCounts,
} from './subscriptions.js';
export { detectStorms, DEFAULT_STORM_OPTIONS, type StormOptions } from './storms.js';
export { shapeTrends, emptyMetrics, type TrendOptions } from './trends.js';
export { buildTopology, edgeHealth, nodeId, HEALTH_THRESHOLDS } from './topology.js';
