import { describe, expect, it } from 'vitest';
import { attempt, send } from '../../test/span-builders.js';
import type { SpanRow } from '../model/span.js';
import { orderViolations } from './business-key-order.js';

const T = Date.UTC(2026, 0, 15, 10, 0, 0);
const KEY = 'order-42';

/** A message of the business key sent at `sentAt` (own conversation) and processed at `processedAt` by each consumer. */
function message(id: string, type: string, sentAt: number, processedAt: Record<string, number>, sent = true): SpanRow[] {
  const conversationId = `conv-${id}`;
  const sendSpan = send({
    service: 'shop',
    messageId: id,
    messageType: type,
    destination: 'orders',
    atMs: sentAt,
    conversationId,
    businessKey: KEY,
  });
  const attempts = Object.entries(processedAt).map(([endpoint, at]) => {
    const [service, destination] = endpoint.split('/');
    return attempt({
      service,
      destination,
      messageId: id,
      messageType: type,
      atMs: at,
      outcome: 'processed',
      conversationId,
      businessKey: KEY,
    });
  });
  return sent ? [sendSpan, ...attempts] : attempts;
}

describe('orderViolations (per business key, across conversations)', () => {
  it.each([
    //  shop ─OrderPlaced (0 s)──────────> billing/orders @ 5 s
    //  shop ─OrderCancelled (1 s)─> billing/orders @ 2 s        (overtook OrderPlaced)
    [
      'a later message processed first',
      [
        message('m-1', 'OrderPlaced', T, { 'billing/orders': T + 5000 }),
        message('m-2', 'OrderCancelled', T + 1000, { 'billing/orders': T + 2000 }),
      ],
      [['billing/orders', 'm-1', 'm-2']],
    ],
    // near miss: processed in send order
    [
      'messages processed in send order',
      [
        message('m-1', 'OrderPlaced', T, { 'billing/orders': T + 1500 }),
        message('m-2', 'OrderCancelled', T + 1000, { 'billing/orders': T + 2000 }),
      ],
      [],
    ],
    // near miss: the overtaking happens at different endpoints only (each endpoint in order)
    [
      'each endpoint in order even though endpoints differ',
      [
        message('m-1', 'OrderPlaced', T, { 'billing/orders': T + 5000 }),
        message('m-2', 'OrderCancelled', T + 1000, { 'audit/orders-audit': T + 2000 }),
      ],
      [],
    ],
    // missing evidence: the earlier send was never seen, so m-1 cannot be placed
    [
      'a message whose send is missing',
      [
        message('m-1', 'OrderPlaced', T, { 'billing/orders': T + 5000 }, false),
        message('m-2', 'OrderCancelled', T + 1000, { 'billing/orders': T + 2000 }),
      ],
      [],
    ],
  ])('%s', (_label, flows, expected) => {
    const violations = orderViolations(KEY, flows.flat());
    expect(violations.map((v) => [v.endpoint, v.messageId, v.overtakenBy])).toEqual(expected);
  });

  it('names the late processing and the overtaking one as evidence, in the late message conversation', () => {
    const spans = [
      message('m-1', 'OrderPlaced', T, { 'billing/orders': T + 5000 }),
      message('m-2', 'OrderCancelled', T + 1000, { 'billing/orders': T + 2000 }),
    ].flat();
    const [violation] = orderViolations(KEY, spans);
    const late = spans.find((s) => s.messageId === 'm-1' && s.kind === 'consumer')!;
    const overtaking = spans.find((s) => s.messageId === 'm-2' && s.kind === 'consumer')!;
    expect(violation).toEqual({
      businessKey: KEY,
      endpoint: 'billing/orders',
      messageId: 'm-1',
      messageType: 'OrderPlaced',
      conversationId: 'conv-m-1',
      service: 'billing',
      overtakenBy: 'm-2',
      overtakenByConversationId: 'conv-m-2',
      timeMs: T + 5000,
      evidence: [late.spanId, overtaking.spanId],
    });
  });
});
