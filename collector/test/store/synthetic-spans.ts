/**
 * Deterministic synthetic spans (alternating sends and processed attempts, 8 spans per
 * conversation, ~10 attributes' worth of identity) for durability tests and benchmarks.
 */
import { msToNs, type SpanRow } from '../../src/model/span.js';

export const SYNTHETIC_BASE_MS = Date.UTC(2026, 0, 15, 10);

/** `count` spans numbered from `offset`; ids are unique per (salt, number). */
export function syntheticSpans(count: number, offset = 0, salt = 1): SpanRow[] {
  const spans: SpanRow[] = [];
  for (let k = offset; k < offset + count; k++) spans.push(syntheticSpan(k, salt));
  return spans;
}

export function syntheticSpan(k: number, salt = 1): SpanRow {
  const hex = (n: number, length: number) => salt.toString(16).padStart(4, '0') + n.toString(16).padStart(length - 4, '0');
  const conversation = Math.floor(k / 8);
  const isSend = k % 2 === 0;
  return {
    traceId: hex(conversation, 32),
    spanId: hex(k, 16),
    parentSpanId: isSend ? '' : hex(k - 1, 16),
    service: isSend ? 'orders' : 'billing',
    name: isSend ? 'orders publish' : 'orders process',
    kind: isSend ? 'producer' : 'consumer',
    statusCode: 'ok',
    statusMessage: '',
    startNs: msToNs(SYNTHETIC_BASE_MS) + BigInt(k) * 10_000n,
    durationNs: 750_000,
    messageId: `msg-${salt}-${k >> 1}`,
    conversationId: `conv-${salt}-${conversation}`,
    causationId: '',
    idempotencyKey: `order-${conversation}`,
    messageType: 'SubmitOrder',
    attempt: 1,
    outcome: isSend ? '' : 'processed',
    payloadBytes: 0,
    payloadOffloaded: false,
    payloadRef: '',
    destination: 'orders',
    operation: isSend ? 'send' : 'process',
    messagingSystem: 'rabbitmq',
    outgoingMessageIds: [],
    links: [],
    events: [],
    attributes: { 'app.order_id': `order-${conversation}`, 'net.peer.port': '5672' },
    resourceAttributes: { 'service.name': isSend ? 'orders' : 'billing', 'host.name': 'bench-1' },
  };
}
