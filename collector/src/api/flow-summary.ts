/** FlowRecord → FlowSummary: what lists, search results and `flow` live events carry. */
import type { FlowRecord, FlowSummary } from '../model/flow.js';

export function toFlowSummary(record: FlowRecord | FlowSummary): FlowSummary {
  const { anomalies: _anomalies, analyzedAtMs: _analyzedAtMs, ...summary } = record as FlowRecord;
  return summary;
}
