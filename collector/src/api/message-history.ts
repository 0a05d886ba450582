/**
 * `GET /api/messages/:messageId`: every send, delivery and attempt of one message, across
 * traces and endpoints. Pure: spans in, one `MessageHistory` out, reusing the flow
 * reconstruction so a message looks the same here as inside its flow. Judging a message needs
 * its surroundings (a ghost is sent by an attempt of *another* message that failed), so the
 * caller passes the conversation's spans as context when they are few enough to read.
 */
import { reconstructFlow, type ModelOptions } from '../analysis/index.js';
import type { MessageHistory } from '../contract/index.js';
import type { Anomaly } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';

export type { MessageHistory };

export interface DescribeMessageOptions extends ModelOptions {
  truncated: boolean;
  /** Other spans of the message's conversation, to judge it in context (may overlap `spans`). */
  context?: SpanRow[];
  /** Anomalies of the message's conversations, as the flow indexer recorded them. */
  recordedAnomalies: Anomaly[];
}

export function describeMessage(messageId: string, spans: SpanRow[], options: DescribeMessageOptions): MessageHistory {
  const { context, recordedAnomalies: _recorded, ...analysis } = options;
  const flow = reconstructFlow(mergeSpans(spans, context ?? []), { ...analysis, page: { offset: 0, limit: Number.MAX_SAFE_INTEGER } });
  const recorded = options.recordedAnomalies.filter((anomaly) => anomaly.messageId === messageId);
  const anomalies = recorded.length > 0 ? recorded : flow.anomalies.filter((anomaly) => anomaly.messageId === messageId);
  const found = flow.messages.find((message) => message.messageId === messageId);
  // Flags agree with the anomalies reported next to them, however little context was read.
  const message = found ? { ...found, flags: unique([...found.flags, ...anomalies.map((anomaly) => anomaly.kind)]) } : null;
  return {
    messageId,
    message,
    conversationIds: unique(spans.map((span) => span.conversationId)),
    traceIds: unique(spans.map((span) => span.traceId)),
    anomalies,
    spanCount: spans.length,
    truncated: options.truncated,
  };
}

function unique<T extends string>(values: T[]): T[] {
  return [...new Set(values.filter((value) => value !== ''))];
}

function mergeSpans(spans: SpanRow[], context: SpanRow[]): SpanRow[] {
  if (context.length === 0) return spans;
  const seen = new Set(context.map((span) => `${span.traceId}/${span.spanId}`));
  return [...context, ...spans.filter((span) => !seen.has(`${span.traceId}/${span.spanId}`))];
}
