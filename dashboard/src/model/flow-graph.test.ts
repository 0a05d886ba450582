import { describe, expect, it } from 'vitest';
import { buildFlowGraph, messageNodeId } from './flow-graph.js';
import { makeFlow, makeMessage } from './testing/builders.js';
import type { FlowMessage } from './types.js';

const nodes = (graph: ReturnType<typeof buildFlowGraph>) => graph.elements.filter((e) => e.group === 'nodes');
const edges = (graph: ReturnType<typeof buildFlowGraph>) => graph.elements.filter((e) => e.group === 'edges');

describe('buildFlowGraph', () => {
  /**
   *   POST /orders (http)
   *     └─ SubmitOrder
   *          └─ OrderPlaced
   *               ├─ OrderBilled   [duplicate-processing]
   *               └─ ShipOrder     [lost-message]
   */
  const flow = makeFlow(
    [
      makeMessage({ messageId: 'submit', messageType: 'SubmitOrder' }),
      makeMessage({ messageId: 'placed', messageType: 'OrderPlaced', causationId: 'submit' }),
      makeMessage({ messageId: 'billed', messageType: 'OrderBilled', causationId: 'placed', flags: ['duplicate-processing'] }),
      makeMessage({
        messageId: 'ship',
        messageType: 'ShipOrder',
        causationId: 'placed',
        status: 'lost',
        deliveries: [],
        flags: ['lost-message'],
      }),
    ],
    {
      httpCalls: [
        {
          client: 'web',
          server: 'edge',
          method: 'POST',
          target: '/orders',
          statusCode: 202,
          idempotencyKey: 'k1',
          startMs: 990,
          durationMs: 20,
          traceId: 't1',
          spanId: 'http1',
        },
      ],
    },
  );
  flow.edges.unshift({ from: 'http1', to: 'submit', via: 'http' });
  const graph = buildFlowGraph(flow);

  it('draws every message and the HTTP boundary as nodes, produced-by as edges', () => {
    expect(graph.mode).toBe('messages');
    expect(
      nodes(graph)
        .map((n) => n.data.id)
        .sort(),
    ).toEqual(['h:http1', 'm:billed', 'm:placed', 'm:ship', 'm:submit']);
    expect(
      edges(graph)
        .map((e) => `${e.data.source}->${e.data.target}`)
        .sort(),
    ).toEqual(['h:http1->m:submit', 'm:placed->m:billed', 'm:placed->m:ship', 'm:submit->m:placed']);
    expect(edges(graph).find((e) => e.data.source === 'h:http1')!.classes).toBe('http');
  });

  it('marks anomalies as classes and in the label', () => {
    const billed = nodes(graph).find((n) => n.data.id === messageNodeId('billed'))!;
    expect(billed.classes).toContain('flag-duplicate-processing');
    expect(billed.classes).toContain('flagged');
    expect(billed.data.label).toContain('DUP PROCESSED');
    const ship = nodes(graph).find((n) => n.data.id === 'm:ship')!;
    expect(ship.classes).toContain('status-lost');
    expect(ship.data.label).toContain('LOST');
  });
});

describe('large flows', () => {
  /** root → 500 × ItemReserved (clean, one of them retried) → each → 1 × ItemShipped (clean) */
  function fanOut(count: number): FlowMessage[] {
    const messages = [makeMessage({ messageId: 'root', messageType: 'OrderPlaced' })];
    for (let i = 0; i < count; i++) {
      messages.push(makeMessage({ messageId: `r${i}`, messageType: 'ItemReserved', causationId: 'root', flags: i === 7 ? ['retry'] : [] }));
      messages.push(makeMessage({ messageId: `s${i}`, messageType: 'ItemShipped', causationId: `r${i}` }));
    }
    return messages;
  }

  it('collapses repeated healthy siblings level by level but keeps flagged ones apart', () => {
    const graph = buildFlowGraph(makeFlow(fanOut(500)));
    expect(graph.mode).toBe('messages');
    const ids = nodes(graph).map((n) => n.data.id);
    // root, the retried reservation, its shipment, and two collapsed groups.
    expect(ids).toHaveLength(5);
    expect(ids).toContain('m:r7');
    const reserved = nodes(graph).find((n) => n.data.kind === 'group' && String(n.data.label).startsWith('ItemReserved'))!;
    expect(reserved.data.count).toBe(499);
    expect(graph.members.get(reserved.data.id)).toHaveLength(499);
    const shipped = nodes(graph).find((n) => n.data.kind === 'group' && String(n.data.label).startsWith('ItemShipped'))!;
    expect(shipped.data.count).toBe(499);
    expect(graph.nodeOfMessage.get('s3')).toBe(shipped.data.id);
    // 499 produced-by edges into the group fold into one counted edge.
    const into = edges(graph).find((e) => e.data.target === reserved.data.id)!;
    expect(into.data.count).toBe(499);
    expect(graph.collapsedGroups).toBe(2);
  });

  it('collapses many alike flagged siblings into one node that keeps the flag', () => {
    const messages = [makeMessage({ messageId: 'root', messageType: 'OrderPlaced' })];
    for (let i = 0; i < 40; i++)
      messages.push(makeMessage({ messageId: `r${i}`, messageType: 'ItemReserved', causationId: 'root', flags: ['retry'] }));
    messages.push(
      makeMessage({
        messageId: 'lost',
        messageType: 'ItemReserved',
        causationId: 'root',
        status: 'lost',
        deliveries: [],
        flags: ['lost-message'],
      }),
    );
    const graph = buildFlowGraph(makeFlow(messages));
    const group = nodes(graph).find((n) => n.data.kind === 'group')!;
    expect(group.data.count).toBe(40);
    expect(group.classes).toContain('flag-retry');
    expect(group.data.label).toContain('RETRY');
    // The one lost sibling is unlike the others and stays on its own.
    expect(graph.nodeOfMessage.get('lost')).toBe('m:lost');
  });

  it('keeps small sibling sets as individual messages', () => {
    const graph = buildFlowGraph(makeFlow(fanOut(3)));
    expect(nodes(graph)).toHaveLength(7);
    expect(graph.collapsedGroups).toBe(0);
  });

  it('summarises by message type when even the collapsed graph is too large', () => {
    // A chain cannot collapse: every message has a different parent.
    const chain = Array.from({ length: 50 }, (_, i) =>
      makeMessage({
        messageId: `c${i}`,
        messageType: i % 2 ? 'Ping' : 'Pong',
        causationId: i ? `c${i - 1}` : '',
        flags: i === 9 ? ['ghost-message'] : [],
      }),
    );
    const graph = buildFlowGraph(makeFlow(chain), { collapseAt: 6, maxNodes: 20 });
    expect(graph.mode).toBe('types');
    expect(
      nodes(graph)
        .map((n) => n.data.id)
        .sort(),
    ).toEqual(['t:Ping', 't:Pong']);
    const ping = nodes(graph).find((n) => n.data.id === 't:Ping')!;
    expect(ping.classes).toContain('flag-ghost-message');
    expect(
      edges(graph)
        .map((e) => e.data.id)
        .sort(),
    ).toEqual(['t:Ping->t:Pong', 't:Pong->t:Ping']);
  });

  it('survives a causation cycle in malformed data', () => {
    const graph = buildFlowGraph(
      makeFlow([makeMessage({ messageId: 'a', causationId: 'b' }), makeMessage({ messageId: 'b', causationId: 'a' })]),
    );
    expect(nodes(graph)).toHaveLength(2);
  });
});
