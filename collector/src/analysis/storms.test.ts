import { describe, expect, it } from 'vitest';
import { STORM_KIND_COUNTS, STORM_KINDS, type Anomaly, type AnomalyStormKind, type StormKind } from '../model/flow.js';
import { withAnomalyActivity } from './anomaly-activity.js';
import { DEFAULT_STORM_OPTIONS, detectStorms, endpointOf, stormLookbackMs, type StormBucketRow, type StormOptions } from './storms.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const options: StormOptions = { ...DEFAULT_STORM_OPTIONS, stepMs: MINUTE };

interface KeyTraffic {
  endpoint?: string;
  messageType?: string;
  kind?: StormKind;
  /** Events of `kind` per minute, from `fromMinute`. */
  counts: number[];
  fromMinute?: number;
  attemptsPerMinute?: number;
}

/** One activity row per minute of the key's traffic. */
function rows({
  endpoint = 'marketing/order-events',
  messageType = 'OrderBilled',
  kind = 'duplicate-delivery',
  counts,
  fromMinute = 0,
  attemptsPerMinute = 100,
}: KeyTraffic): StormBucketRow[] {
  const [service, destination = ''] = endpoint.split('/');
  return counts.map((count, i) => ({
    timeMs: T0 + (fromMinute + i) * MINUTE,
    service,
    destination,
    messageType,
    attempts: attemptsPerMinute + count,
    duplicateDeliveries: 0,
    duplicateProcessings: 0,
    retries: 0,
    failures: 0,
    deadLetters: 0,
    ghostMessages: 0,
    lostMessages: 0,
    inconsistentOutputs: 0,
    [STORM_KIND_COUNTS[kind]]: count,
  }));
}

/** `minutes` values of `level`, with `bursts` (minute → value) laid over it. */
function minutes(length: number, level: number | ((minute: number) => number), bursts: Record<number, number> = {}): number[] {
  return Array.from({ length }, (_, m) => bursts[m] ?? (typeof level === 'number' ? level : level(m)));
}

/** A steady rate with a wobble (±20% unless told) that repeats every 7 minutes: deterministic noise. */
const wobbly =
  (rate: number, amplitude = 0.2) =>
  (m: number) =>
    Math.round(rate * (1 + amplitude * Math.sin((m * 2 * Math.PI) / 7)));

const at = (minute: number) => T0 + minute * MINUTE;

describe('detectStorms', () => {
  //  case                        per-minute series (minute 0 is the key's first traffic)
  //  starting up steady          8 8 8 8 … (60 min)                 → nothing: no history before minute 0
  //  steady high rate            200±40 … (90 min)                  → nothing
  //  10× burst for 3 minutes     10 … 10 100 100 100 10 … (40–42)   → one episode 40–43, peak 100
  //  level shift                 5 … 5 50 50 50 … (from 40 on)      → one level shift 40–55, then quiet
  //  two bursts 10 min apart     10 … 80 80 … 10 … 80 80 … 10        → two episodes
  it.each([
    { name: 'a service starting up at a steady rate', counts: minutes(60, 8), expected: [] },
    { name: 'a steady high rate', counts: minutes(90, wobbly(200)), expected: [] },
    {
      name: 'a 10× burst for 3 minutes',
      counts: minutes(60, 10, { 40: 100, 41: 100, 42: 100 }),
      expected: [{ startMs: at(40), endMs: at(43), peakPerMinute: 100, baselinePerMinute: 10, count: 300, levelShift: false }],
    },
    {
      name: 'a level shift',
      counts: minutes(90, (m) => (m < 40 ? 5 : 50)),
      expected: [{ startMs: at(40), endMs: at(55), peakPerMinute: 50, baselinePerMinute: 5, count: 15 * 50, levelShift: true }],
    },
    {
      name: 'two bursts ten minutes apart',
      counts: minutes(70, 10, { 40: 80, 41: 80, 50: 90, 51: 90 }),
      expected: [
        { startMs: at(40), endMs: at(42), peakPerMinute: 80, baselinePerMinute: 10, levelShift: false },
        { startMs: at(50), endMs: at(52), peakPerMinute: 90, baselinePerMinute: 10, levelShift: false },
      ],
    },
  ])('$name', ({ counts, expected }) => {
    const { storms, learning } = detectStorms(rows({ counts }), options);
    expect(storms).toEqual(
      expected.map((episode) => expect.objectContaining({ kind: 'duplicate-delivery', endpoint: 'marketing/order-events', ...episode })),
    );
    expect(learning).toEqual([]);
  });

  it('reports a key with too little history as learning, with no storm', () => {
    // An old key keeps the series going since minute 0; the new one starts at minute 50 and
    // bursts at 55: it has 10 minutes of history, not 30.
    const { storms, learning } = detectStorms(
      [
        ...rows({ counts: minutes(60, 3) }),
        ...rows({
          endpoint: 'billing/billing',
          messageType: 'BillCustomer',
          kind: 'retry',
          fromMinute: 50,
          counts: minutes(10, 2, { 5: 200 }),
        }),
      ],
      { ...options, now: at(60) + 10_000 },
    );
    expect(storms).toEqual([]);
    expect(learning).toEqual([
      {
        service: 'billing',
        destination: 'billing',
        endpoint: 'billing/billing',
        messageType: 'BillCustomer',
        firstSeenMs: at(50),
        learnedAtMs: at(80),
      },
    ]);
  });

  it('does not count the minutes before a key first appears as zeros', () => {
    // Another key started an hour earlier; this one starts at minute 60 with a steady 12/min.
    const { storms } = detectStorms(
      [...rows({ counts: minutes(120, 2) }), ...rows({ endpoint: 'shipping/orders', fromMinute: 60, counts: minutes(60, 12) })],
      options,
    );
    expect(storms).toEqual([]);
  });

  it('judges a key once its learning time is over', () => {
    const counts = minutes(45, 4, { 31: 60 });
    expect(detectStorms(rows({ counts }), options).storms.map((s) => s.startMs)).toEqual([at(31)]);
    expect(detectStorms(rows({ counts }), { ...options, learningMs: 40 * MINUTE }).storms).toEqual([]);
  });

  it('does not let an earlier burst hide the next one: burst buckets stay out of the baseline', () => {
    // Twelve minutes of storm within the thirty-minute window would lift a mean-based bar above
    // the second burst; the median of the calm minutes stays at 10.
    const bursts = Object.fromEntries([...Array.from({ length: 12 }, (_, i) => [35 + i, 60]), [55, 60], [56, 60]]);
    const { storms } = detectStorms(rows({ counts: minutes(70, 10, bursts) }), options);
    expect(storms.map((s) => [s.startMs, s.endMs, s.baselinePerMinute])).toEqual([
      [at(35), at(47), 10],
      [at(55), at(57), 10],
    ]);
  });

  it('takes the new level as normal after a level shift, and sees bursts above it', () => {
    const counts = minutes(100, (m) => (m < 40 ? 5 : 50), { 80: 400, 81: 400 });
    const { storms } = detectStorms(rows({ counts }), options);
    expect(storms.map((s) => [s.startMs, s.endMs, s.levelShift, s.baselinePerMinute])).toEqual([
      [at(40), at(55), true, 5],
      [at(80), at(82), false, 50],
    ]);
  });

  it.each([
    ['under the floor', minutes(60, 0, { 45: 4 })],
    ['within the factor of a busy baseline', minutes(60, 40, { 45: 110 })],
    ['three times a wobbly baseline but within its noise', minutes(60, wobbly(10, 0.6), { 45: 30 })],
  ])('reports no storm for a bump %s', (_label, counts) => {
    expect(detectStorms(rows({ counts }), options).storms).toEqual([]);
  });

  it('scores an episode by how many spreads its peak is above the median, and scales rates to per minute', () => {
    // 30-second buckets: a steady 1 per bucket, then 20 in one bucket (40 per minute).
    const counts = minutes(90, 1, { 70: 20 });
    const [storm] = detectStorms(
      rows({ counts }).map((row, i) => ({ ...row, timeMs: T0 + i * 30_000 })),
      { ...options, stepMs: 30_000 },
    ).storms;
    expect(storm).toMatchObject({
      startMs: T0 + 70 * 30_000,
      endMs: T0 + 71 * 30_000,
      peakPerMinute: 40,
      baselinePerMinute: 2,
      spreadPerMinute: 2,
    });
    // Spread per bucket is at least 1 (Poisson noise of a median of 1): (20 - 1) / 1.
    expect(storm.score).toBe(19);
  });

  it('neither judges nor learns from minutes without traffic of the key', () => {
    // Traffic every other minute; the idle minutes in between are not zero-duplicate minutes.
    const sparse = rows({ counts: minutes(80, 20, { 70: 90 }) }).filter((_, i) => i % 2 === 0);
    const { storms } = detectStorms(sparse, options);
    expect(storms.map((s) => [s.startMs, s.endMs, s.baselinePerMinute])).toEqual([[at(70), at(71), 20]]);
  });

  it.each(STORM_KINDS)('detects %s storms on their own count', (kind) => {
    const { storms } = detectStorms(rows({ kind, counts: minutes(60, 1, { 45: 50 }) }), options);
    expect(storms.map((s) => [s.kind, s.startMs, s.count])).toEqual([[kind, at(45), 50]]);
  });

  it.each([
    ['billing', 'payments', 'billing/payments'],
    ['billing', '', 'billing'],
  ])('names the endpoint of %s consuming from "%s" %s', (service, destination, endpoint) => {
    expect(endpointOf(service, destination)).toBe(endpoint);
  });

  it('keeps endpoints and message types apart', () => {
    const { storms } = detectStorms(
      [
        ...rows({ endpoint: 'marketing/order-events', counts: minutes(60, 2, { 45: 40 }) }),
        ...rows({ endpoint: 'marketing/coupons', counts: minutes(60, 2) }),
        ...rows({ endpoint: 'marketing/order-events', messageType: 'OrderShipped', counts: minutes(60, 2, { 50: 40 }) }),
      ],
      options,
    );
    expect(storms.map((s) => [s.endpoint, s.messageType, s.startMs])).toEqual([
      ['marketing/order-events', 'OrderBilled', at(45)],
      ['marketing/order-events', 'OrderShipped', at(50)],
    ]);
  });

  describe('at the end of the series', () => {
    const counts = minutes(50, 2, { 48: 60, 49: 60 });

    it('keeps an episode open (ongoing) through the bucket that is still filling', () => {
      // now is 10 s into minute 50, which holds one event so far: too early to call the end.
      const series = [...rows({ counts }), ...rows({ fromMinute: 50, counts: [1] })];
      const { storms } = detectStorms(series, { ...options, now: at(50) + 10_000 });
      expect(storms).toEqual([expect.objectContaining({ startMs: at(48), endMs: at(50), ongoing: true })]);
    });

    it('closes an episode at now when later minutes were quiet', () => {
      const { storms } = detectStorms(rows({ counts }), { ...options, now: at(55) });
      expect(storms).toEqual([expect.objectContaining({ startMs: at(48), endMs: at(50), ongoing: false })]);
    });
  });

  it('refuses a step that is not positive', () => {
    expect(() => detectStorms(rows({ counts: [1] }), { ...options, stepMs: 0 })).toThrow(/step/);
  });

  it('reads enough history before a window to judge its first bucket', () => {
    expect(stormLookbackMs(options)).toBe(30 * MINUTE);
    // With ten-minute buckets the baseline still needs five of them.
    expect(stormLookbackMs({ ...options, stepMs: 10 * MINUTE })).toBe(50 * MINUTE);
  });

  describe("of the flow records' anomalies (ghost, lost, inconsistent output)", () => {
    /** `counts[m]` anomalies of `kind` at minute m, for orders' attempts consuming SubmitOrder from orders. */
    const anomalies = (kind: AnomalyStormKind, counts: number[], messageType = 'BillCustomer'): Anomaly[] =>
      counts.flatMap((count, m) =>
        Array.from({ length: count }, (_, i) => ({
          kind,
          severity: 'error' as const,
          conversationId: `c-${m}-${i}`,
          messageId: `m-${m}-${i}`,
          messageType,
          service: 'orders',
          endpoint: 'orders/orders',
          detail: '',
          timeMs: at(m) + i * 100,
        })),
      );
    const detect = (spanRows: StormBucketRow[], found: Anomaly[]) => detectStorms(withAnomalyActivity(spanRows, found, MINUTE), options);
    /** The key's own traffic: orders consuming BillCustomer from orders, 100 attempts a minute. */
    const traffic = (length: number) => rows({ endpoint: 'orders/orders', messageType: 'BillCustomer', counts: minutes(length, 0) });

    //  case                                        lost / ghosts per minute             → episodes
    //  lost burst after 40 calm minutes of traffic  0 … 0 12 12 12 0 … (40–42)          → one, 40–43
    //  near miss: the same burst under the floor   0 … 0 4 4 4 0 …                      → none
    //  sparse ghosts, no traffic of their own       1 _ _ 1 _ _ 1 … (every 3rd minute)  → none
    //  near miss: the same with 8 at minute 51      1 _ _ … 8 … 1                       → one, 51–52
    it.each([
      {
        name: 'a burst of lost messages after 40 calm minutes',
        kind: 'lost-message' as const,
        spanRows: traffic(60),
        counts: minutes(60, 0, { 40: 12, 41: 12, 42: 12 }),
        expected: [{ startMs: at(40), endMs: at(43), count: 36, peakPerMinute: 12, baselinePerMinute: 0 }],
      },
      {
        name: 'a lost-message bump under the floor',
        kind: 'lost-message' as const,
        spanRows: traffic(60),
        counts: minutes(60, 0, { 40: 4, 41: 4, 42: 4 }),
        expected: [],
      },
      {
        name: 'sparse ghosts at a steady low rate',
        kind: 'ghost-message' as const,
        spanRows: [],
        counts: minutes(60, (m) => (m % 3 === 0 ? 1 : 0)),
        expected: [],
      },
      {
        name: 'sparse ghosts with one burst',
        kind: 'ghost-message' as const,
        spanRows: [],
        counts: minutes(60, (m) => (m % 3 === 0 ? 1 : 0), { 51: 8 }),
        expected: [{ startMs: at(51), endMs: at(52), count: 8, peakPerMinute: 8, baselinePerMinute: 1 }],
      },
    ])('$name', ({ kind, spanRows, counts, expected }) => {
      const { storms, learning } = detect(spanRows, anomalies(kind, counts));
      expect(storms).toEqual(
        expected.map((episode) =>
          expect.objectContaining({
            kind,
            service: 'orders',
            destination: 'orders',
            endpoint: 'orders/orders',
            messageType: 'BillCustomer',
            ...episode,
          }),
        ),
      );
      expect(learning).toEqual([]);
    });

    it("judges a producer's lost messages against its endpoint's calm minutes", () => {
      // orders consumes SubmitOrder from orders (its traffic) and sends BillCustomer: the lost
      // BillCustomer are named by orders/orders, a key of no span row of its own.
      const submitOrders = rows({ endpoint: 'orders/orders', messageType: 'SubmitOrder', counts: minutes(60, 0) });
      const { storms, learning } = detect(submitOrders, anomalies('lost-message', minutes(60, 0, { 40: 15, 41: 15 })));
      expect(storms.map((s) => [s.kind, s.endpoint, s.messageType, s.startMs, s.endMs, s.baselinePerMinute])).toEqual([
        ['lost-message', 'orders/orders', 'BillCustomer', at(40), at(42), 0],
      ]);
      expect(learning).toEqual([]);
    });

    it('learns a key with traffic from its first attempts, not from an earlier anomaly', () => {
      // Lost messages of minute 0 (sends) before the consumer's first attempts at minute 20:
      // the key learns from minute 20, so a burst at minute 45 is still within its learning.
      const lost = anomalies('lost-message', minutes(60, 0, { 0: 1, 45: 20 }));
      const lateTraffic = rows({ endpoint: 'orders/orders', messageType: 'BillCustomer', fromMinute: 20, counts: minutes(40, 0) });
      expect(detect(lateTraffic, lost).storms).toEqual([]);
      // Near miss: with traffic from minute 0 the same burst is judged, and is a storm.
      expect(detect(traffic(60), lost).storms.map((s) => [s.kind, s.startMs, s.count])).toEqual([['lost-message', at(45), 20]]);
    });

    it('learns a key without traffic from its first anomaly bucket: a first burst is not judged', () => {
      const { storms, learning } = detect([], anomalies('inconsistent-output', minutes(10, 0, { 2: 30 })));
      expect(storms).toEqual([]);
      expect(learning).toEqual([expect.objectContaining({ endpoint: 'orders/orders', firstSeenMs: at(2), learnedAtMs: at(32) })]);
    });
  });
});
