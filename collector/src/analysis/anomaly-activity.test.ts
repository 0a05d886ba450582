import { describe, expect, it } from 'vitest';
import type { Anomaly, AnomalyKind } from '../model/flow.js';
import { anomalyTopKeys, destinationOf, withAnomalyActivity } from './anomaly-activity.js';
import type { SpanActivityRow } from './storms.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const at = (minute: number, seconds = 0) => T0 + minute * MINUTE + seconds * 1000;

function anomaly(kind: AnomalyKind, timeMs: number, over: Partial<Anomaly> = {}): Anomaly {
  return {
    kind,
    severity: 'error',
    conversationId: 'c-1',
    messageId: 'm-1',
    messageType: 'BillCustomer',
    service: 'orders',
    endpoint: 'orders/orders',
    detail: '',
    timeMs,
    ...over,
  };
}

const NO_SPAN_COUNTS = { duplicateDeliveries: 0, duplicateProcessings: 0, retries: 0, failures: 0, deadLetters: 0 };
const NO_ANOMALY_COUNTS = { ghostMessages: 0, lostMessages: 0, inconsistentOutputs: 0 };
const spanRow = (minute: number, over: Partial<SpanActivityRow> = {}): SpanActivityRow => ({
  timeMs: at(minute),
  service: 'orders',
  destination: 'orders',
  messageType: 'BillCustomer',
  attempts: 10,
  ...NO_SPAN_COUNTS,
  ...over,
});

describe('destinationOf', () => {
  it.each([
    ['orders', 'orders/orders', 'orders'],
    ['billing', 'billing/billing-queue/eu', 'billing-queue/eu'],
    ['billing', 'billing', ''],
    ['billing', 'invoicing/billing', ''],
  ])('of %s at endpoint %s is "%s"', (service, endpoint, destination) => {
    expect(destinationOf({ service, endpoint })).toBe(destination);
  });
});

describe('withAnomalyActivity', () => {
  //  span rows                 anomalies                                  → rows
  //  orders/orders 0:00 (10)   lost 0:10, lost 0:50, ghost 0:59           → one row: 10 attempts, 2 lost, 1 ghost
  //  (none)                    inconsistent 3:20 of shipping (no dest.)   → a row of its own, 0 attempts
  //  orders/orders SubmitOrder  lost BillCustomer at 0:10                 → BillCustomer rows with the endpoint's attempts
  //  orders/orders 0:00        retry and dead-letter anomalies           → unchanged (counted from spans)
  it.each([
    {
      name: 'counts anomalies into the row of their bucket and key',
      spans: [spanRow(0)],
      anomalies: [anomaly('lost-message', at(0, 10)), anomaly('lost-message', at(0, 50)), anomaly('ghost-message', at(0, 59))],
      expected: [{ ...spanRow(0), ...NO_ANOMALY_COUNTS, lostMessages: 2, ghostMessages: 1 }],
    },
    {
      name: 'gives a key without span activity a row of its own, with no attempts',
      spans: [],
      anomalies: [anomaly('inconsistent-output', at(3, 20), { service: 'shipping', endpoint: 'shipping', messageType: 'ShipOrder' })],
      expected: [
        {
          ...spanRow(3, { service: 'shipping', destination: '', messageType: 'ShipOrder', attempts: 0 }),
          ...NO_ANOMALY_COUNTS,
          inconsistentOutputs: 1,
        },
      ],
    },
    {
      name: "keeps message types apart, and gives a producer's key its endpoint's attempts as traffic",
      spans: [
        spanRow(0, { messageType: 'SubmitOrder' }),
        spanRow(1, { messageType: 'SubmitOrder', attempts: 7 }),
        spanRow(1, { destination: 'other' }),
      ],
      anomalies: [anomaly('lost-message', at(0, 10))],
      expected: [
        { ...spanRow(0), ...NO_ANOMALY_COUNTS, lostMessages: 1 },
        { ...spanRow(0, { messageType: 'SubmitOrder' }), ...NO_ANOMALY_COUNTS },
        { ...spanRow(1, { attempts: 7 }), ...NO_ANOMALY_COUNTS },
        { ...spanRow(1, { messageType: 'SubmitOrder', attempts: 7 }), ...NO_ANOMALY_COUNTS },
        { ...spanRow(1, { destination: 'other' }), ...NO_ANOMALY_COUNTS },
      ],
    },
    {
      name: 'ignores the kinds the stores count from spans',
      spans: [spanRow(0, { retries: 2 })],
      anomalies: [anomaly('retry', at(0, 5)), anomaly('dead-letter', at(0, 6)), anomaly('duplicate-processing', at(0, 7))],
      expected: [{ ...spanRow(0, { retries: 2 }), ...NO_ANOMALY_COUNTS }],
    },
    {
      name: 'orders rows by time and key',
      spans: [spanRow(1)],
      anomalies: [
        anomaly('ghost-message', at(1, 1), { service: 'billing', endpoint: 'billing/bills' }),
        anomaly('ghost-message', at(0, 1)),
      ],
      expected: [
        { ...spanRow(0, { attempts: 0 }), ...NO_ANOMALY_COUNTS, ghostMessages: 1 },
        { ...spanRow(1, { service: 'billing', destination: 'bills', attempts: 0 }), ...NO_ANOMALY_COUNTS, ghostMessages: 1 },
        { ...spanRow(1), ...NO_ANOMALY_COUNTS },
      ],
    },
  ])('$name', ({ spans, anomalies, expected }) => {
    expect(withAnomalyActivity(spans, anomalies, MINUTE)).toEqual(expected);
  });

  it('aligns to the step it is given', () => {
    const rows = withAnomalyActivity([], [anomaly('lost-message', at(0, 20)), anomaly('lost-message', at(0, 40))], 30_000);
    expect(rows.map((row) => [row.timeMs, row.lostMessages])).toEqual([
      [at(0), 1],
      [at(0, 30), 1],
    ]);
  });

  it('refuses a step that is not positive, and leaves its input alone', () => {
    const spans = [spanRow(0)];
    expect(() => withAnomalyActivity(spans, [], 0)).toThrow(/step/);
    withAnomalyActivity(spans, [anomaly('lost-message', at(0, 1))], MINUTE);
    expect(spans).toEqual([spanRow(0)]);
  });
});

describe('anomalyTopKeys', () => {
  const key = { service: 'orders', destination: 'orders', messageType: 'BillCustomer' };
  const window = { fromMs: at(10), toMs: at(12) };
  const found = [
    anomaly('lost-message', at(10, 1), { messageId: 'm-2' }),
    anomaly('lost-message', at(10, 2), { messageId: 'm-2' }),
    anomaly('lost-message', at(11, 3), { messageId: 'm-1' }),
    anomaly('lost-message', at(11, 4), { messageId: 'm-3' }),
    anomaly('lost-message', at(12), { messageId: 'm-late' }),
    anomaly('lost-message', at(9, 59), { messageId: 'm-early' }),
    anomaly('ghost-message', at(11), { messageId: 'm-ghost' }),
    anomaly('lost-message', at(11), { messageId: 'm-other-endpoint', endpoint: 'orders/elsewhere' }),
    anomaly('lost-message', at(11), { messageId: 'm-other-type', messageType: 'ShipOrder' }),
    anomaly('lost-message', at(11), { messageId: '' }),
  ];

  it.each([
    [
      'lost-message',
      10,
      [
        { messageId: 'm-2', count: 2 },
        { messageId: 'm-1', count: 1 },
        { messageId: 'm-3', count: 1 },
      ],
    ],
    [
      'lost-message',
      2,
      [
        { messageId: 'm-2', count: 2 },
        { messageId: 'm-1', count: 1 },
      ],
    ],
    ['ghost-message', 10, [{ messageId: 'm-ghost', count: 1 }]],
    ['inconsistent-output', 10, []],
  ] as const)("of %s (at most %i): the key's message ids in the window, most first", (kind, limit, expected) => {
    expect(anomalyTopKeys(found, window, key, kind, limit)).toEqual(expected);
  });
});
