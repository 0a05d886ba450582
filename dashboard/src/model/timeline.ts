/**
 * Flow detail view-model: every send, delivery attempt and lost message of a conversation as
 * rows of a timeline, in time order, positioned relative to the flow's start.
 */
import type { Flow, FlowMessage } from './types.js';

export type TimelineRowKind = 'send' | 'attempt' | 'lost' | 'http';

export interface TimelineRow {
  /** Stable key: the span id, or the message id for a lost message. */
  key: string;
  kind: TimelineRowKind;
  messageId: string;
  messageType: string;
  service: string;
  destination: string;
  startMs: number;
  durationMs: number;
  /** Outcome of an attempt, `ghost` for a send from a failed attempt, '' otherwise. */
  outcome: string;
  attempt: number;
  error: string;
  /** Class names used to colour the bar. */
  tone: 'ok' | 'info' | 'warning' | 'error' | 'neutral';
}

/** Services that processed the message more than once: their `processed` attempts are the duplicate processing. */
export function duplicateProcessors(message: Pick<FlowMessage, 'deliveries'>): Set<string> {
  const counts = new Map<string, number>();
  for (const d of message.deliveries) if (d.outcome === 'processed') counts.set(d.service, (counts.get(d.service) ?? 0) + 1);
  return new Set([...counts].filter(([, n]) => n > 1).map(([service]) => service));
}

function attemptTone(outcome: string, service: string, twice: Set<string>): TimelineRow['tone'] {
  if (outcome === 'failed' || outcome === 'retry_scheduled') return 'warning';
  if (outcome === 'dead_lettered') return 'error';
  if (outcome === 'duplicate') return 'info';
  if (outcome === 'processed') return twice.has(service) ? 'error' : 'ok';
  return 'neutral';
}

export function buildTimelineRows(flow: Pick<Flow, 'messages' | 'httpCalls' | 'anomalies' | 'startMs'>): TimelineRow[] {
  const rows: TimelineRow[] = [];
  // A message lost before any send has no send time: show it when the anomaly says it was due.
  const lostAt = new Map(flow.anomalies.filter((a) => a.kind === 'lost-message').map((a) => [a.messageId, a.timeMs]));
  for (const message of flow.messages) {
    const base = { messageId: message.messageId, messageType: message.messageType, attempt: 0, error: '' };
    for (const send of message.sends) {
      rows.push({
        ...base,
        key: `s:${send.spanId}`,
        kind: 'send',
        service: send.service,
        destination: send.destination,
        startMs: send.startMs,
        durationMs: 0,
        outcome: send.fromFailedAttempt ? 'ghost' : '',
        tone: send.fromFailedAttempt ? 'error' : 'neutral',
      });
    }
    const twice = duplicateProcessors(message);
    for (const delivery of message.deliveries) {
      rows.push({
        ...base,
        key: `d:${delivery.spanId}`,
        kind: 'attempt',
        service: delivery.service,
        destination: delivery.destination,
        startMs: delivery.startMs,
        durationMs: delivery.durationMs,
        outcome: delivery.outcome,
        attempt: delivery.attempt,
        error: delivery.error,
        tone: attemptTone(delivery.outcome, delivery.service, twice),
      });
    }
    if (message.status === 'lost' && message.deliveries.length === 0) {
      rows.push({
        ...base,
        key: `l:${message.messageId}`,
        kind: 'lost',
        service: message.producer,
        destination: message.destination,
        startMs: message.sentAtMs ?? message.sends[0]?.startMs ?? lostAt.get(message.messageId) ?? flow.startMs,
        durationMs: 0,
        outcome: 'never delivered',
        tone: 'error',
      });
    }
  }
  for (const call of flow.httpCalls) {
    rows.push({
      key: `h:${call.spanId}`,
      kind: 'http',
      messageId: '',
      messageType: `${call.method} ${call.target}`,
      service: call.client || '(external)',
      destination: call.server,
      startMs: call.startMs,
      durationMs: call.durationMs,
      outcome: call.statusCode ? String(call.statusCode) : '',
      attempt: 0,
      error: '',
      tone: call.statusCode >= 500 ? 'error' : call.statusCode >= 400 ? 'warning' : 'neutral',
    });
  }
  // Stable sort: equal start times keep message order (send before its attempts).
  return rows.sort((a, b) => a.startMs - b.startMs);
}

export interface TimelineScale {
  startMs: number;
  spanMs: number;
}

export function timelineScale(rows: TimelineRow[]): TimelineScale {
  if (rows.length === 0) return { startMs: 0, spanMs: 1 };
  let start = Infinity;
  let end = -Infinity;
  for (const row of rows) {
    start = Math.min(start, row.startMs);
    end = Math.max(end, row.startMs + row.durationMs);
  }
  return { startMs: start, spanMs: Math.max(1, end - start) };
}

/** Left offset and width of a row's bar as percentages of the timeline (min width keeps instants visible). */
export function barGeometry(row: TimelineRow, scale: TimelineScale): { leftPct: number; widthPct: number } {
  const leftPct = ((row.startMs - scale.startMs) / scale.spanMs) * 100;
  const widthPct = Math.max(0.4, (row.durationMs / scale.spanMs) * 100);
  return { leftPct: Math.min(leftPct, 99.6), widthPct: Math.min(widthPct, 100 - Math.min(leftPct, 99.6)) };
}
