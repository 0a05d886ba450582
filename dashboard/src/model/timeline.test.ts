import { describe, expect, it } from 'vitest';
import { barGeometry, buildTimelineRows, timelineScale } from './timeline.js';
import { makeDelivery, makeFlow, makeMessage, makeSend } from './testing/builders.js';

describe('buildTimelineRows', () => {
  const flow = makeFlow([
    makeMessage({
      messageId: 'billed',
      sends: [makeSend({ spanId: 's1', startMs: 1000 })],
      deliveries: [
        makeDelivery({ spanId: 'a1', attempt: 1, outcome: 'failed', startMs: 1100, error: 'db timeout' }),
        makeDelivery({ spanId: 'a2', attempt: 2, outcome: 'processed', startMs: 1300 }),
      ],
      flags: ['retry'],
    }),
    makeMessage({
      messageId: 'ghost',
      sends: [makeSend({ spanId: 's2', startMs: 1050, fromFailedAttempt: true })],
      deliveries: [makeDelivery({ spanId: 'a3', startMs: 1200 })],
      flags: ['ghost-message'],
    }),
    makeMessage({ messageId: 'lost', sends: [makeSend({ spanId: 's3', startMs: 1020 })], deliveries: [], status: 'lost', sentAtMs: 1020 }),
  ]);
  const rows = buildTimelineRows(flow);

  it('lists every send, attempt and lost message in time order', () => {
    expect(rows.map((r) => r.key)).toEqual(['s:s1', 's:s3', 'l:lost', 's:s2', 'd:a1', 'd:a3', 'd:a2']);
  });

  it('carries attempt numbers, errors and tones', () => {
    const failed = rows.find((r) => r.key === 'd:a1')!;
    expect(failed).toMatchObject({ attempt: 1, outcome: 'failed', error: 'db timeout', tone: 'warning' });
    expect(rows.find((r) => r.key === 's:s2')).toMatchObject({ outcome: 'ghost', tone: 'error' });
    expect(rows.find((r) => r.key === 'l:lost')).toMatchObject({ kind: 'lost', tone: 'error' });
  });

  it('positions bars relative to the flow, with a minimum width for instants', () => {
    const scale = timelineScale(rows);
    expect(scale).toEqual({ startMs: 1000, spanMs: 305 });
    const last = barGeometry(rows[rows.length - 1], scale);
    expect(last.leftPct).toBeCloseTo(98.36, 1);
    expect(last.leftPct + last.widthPct).toBeLessThanOrEqual(100);
    expect(barGeometry(rows[0], scale)).toEqual({ leftPct: 0, widthPct: 0.4 });
  });
});

describe('a message lost before any send', () => {
  it('sits where its anomaly places it, not at epoch zero', () => {
    const flow = makeFlow(
      [
        makeMessage({
          messageId: 'submit',
          sends: [makeSend({ spanId: 's1', startMs: 5000 })],
          deliveries: [makeDelivery({ spanId: 'a1', startMs: 5010 })],
        }),
        makeMessage({
          messageId: 'bill',
          causationId: 'submit',
          sends: [],
          deliveries: [],
          sentAtMs: null,
          status: 'lost',
          flags: ['lost-message'],
        }),
      ],
      {
        startMs: 5000,
        anomalies: [
          {
            kind: 'lost-message',
            severity: 'error',
            conversationId: 'conv-1',
            messageId: 'bill',
            messageType: 'Bill',
            service: 'orders',
            endpoint: 'orders',
            detail: 'lost',
            timeMs: 5015,
          },
        ],
      },
    );
    const rows = buildTimelineRows(flow);
    expect(rows.find((r) => r.kind === 'lost')!.startMs).toBe(5015);
    expect(timelineScale(rows)).toEqual({ startMs: 5000, spanMs: 15 });
  });
});

describe('duplicate processing', () => {
  it('marks only the processings of the endpoint that processed twice', () => {
    const flow = makeFlow([
      makeMessage({
        messageId: 'billed',
        flags: ['duplicate-processing'],
        deliveries: [
          makeDelivery({ spanId: 'ship', service: 'shipping', outcome: 'processed', startMs: 1100 }),
          makeDelivery({ spanId: 'm1', service: 'marketing', outcome: 'processed', startMs: 1110 }),
          makeDelivery({ spanId: 'm2', service: 'marketing', attempt: 2, outcome: 'processed', startMs: 4300 }),
        ],
      }),
    ]);
    const tones = Object.fromEntries(buildTimelineRows(flow).map((r) => [r.key, r.tone]));
    expect(tones).toMatchObject({ 'd:ship': 'ok', 'd:m1': 'error', 'd:m2': 'error' });
  });
});
