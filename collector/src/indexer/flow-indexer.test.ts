/**
 * The flow indexer against a real in-memory DuckDB store, with an injected clock: debounce,
 * re-analysis once the quiet period has passed, start-up catch-up, bounds and failures.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANOMALY_FLOWS_QUIET_PERIOD_MS as QUIET_MS, buildAnomalyFlows, type AnomalyFlows } from '../../test/fixtures/anomaly-flows.js';
import { attempt, send } from '../../test/span-builders.js';
import { ATTR_EXPORT_ENTRIES, ATTR_EXPORT_PREVIOUS_ENTRIES, ATTR_EXPORT_SEQ, ATTR_EXPORT_STREAM } from '@onceflow/instrumentation/semconv';
import { subscriptionKey } from '../analysis/index.js';
import { silentLogger } from '../logger.js';
import type { Anomaly, FlowRecord } from '../model/flow.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import type { SpanStore } from '../store/span-store.js';
import { createApp } from '../app.js';
import type { Flow } from '../contract/index.js';
import { createFlowIndexer, type FlowIndexer, type FlowIndexerOptions } from './flow-indexer.js';

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
const IN_PROGRESS = 'conv-in-progress';
let store: DuckDbStore;
let fixture: AnomalyFlows;
let nowMs: number;
let saved: FlowRecord[];
let reported: Anomaly[];
let withdrawn: Anomaly[];

beforeEach(async () => {
  fixture = buildAnomalyFlows(NOW);
  store = new DuckDbStore({ path: ':memory:' });
  await store.init();
  await store.insertSpans(fixture.spans);
  nowMs = NOW;
  saved = [];
  reported = [];
  withdrawn = [];
});

afterEach(async () => {
  await store.close();
});

const indexerFor = (overrides: Partial<FlowIndexerOptions> = {}) =>
  createFlowIndexer({
    store,
    logger: silentLogger(),
    clock: () => nowMs,
    quietPeriodMs: QUIET_MS,
    debounceMs: 1000,
    onFlows: (records, anomalies, gone) => {
      saved.push(...records);
      reported.push(...anomalies);
      withdrawn.push(...gone);
    },
    ...overrides,
  });

const spansOf = (conversationId: string) => fixture.spans.filter((span) => span.conversationId === conversationId);

/**
 * A numbered span of `service` in another flow, started at `atMs` (its own export stream): the
 * service went on exporting, so its silence about a message sent before is evidence.
 */
const stillExporting = (service: string, atMs: number) =>
  store.insertSpans([
    attempt({
      service,
      messageId: `alive-${service}-${atMs}`,
      messageType: 'Other',
      atMs,
      outcome: 'processed',
      conversationId: 'conv-alive',
      attributes: { [ATTR_EXPORT_STREAM]: `a${String(atMs).slice(-15).padStart(15, '0')}`, [ATTR_EXPORT_SEQ]: '1' },
    }),
  ]);

describe('flow indexer', () => {
  it('waits for the debounce, then analyses and saves the touched conversations', async () => {
    const indexer = indexerFor();
    indexer.noteSpans(fixture.spans);
    expect(await indexer.runOnce()).toBe(0);
    nowMs += 1000;
    expect(await indexer.runOnce()).toBe(fixture.expected.length);
    for (const expected of fixture.expected) {
      const record = await store.getFlowRecord(expected.conversationId);
      expect(record?.state, expected.conversationId).toBe(expected.state);
      expect([...new Set(record!.anomalies.map((a) => a.kind))].sort(), expected.conversationId).toEqual([...expected.kinds].sort());
    }
    expect(saved.map((record) => record.conversationId).sort()).toEqual(fixture.expected.map((flow) => flow.conversationId).sort());
  });

  it('judges an active flow again once its quiet period has passed', async () => {
    await stillExporting('billing', NOW + QUIET_MS);
    const indexer = indexerFor();
    indexer.noteSpans(spansOf(IN_PROGRESS));
    nowMs += 1000;
    await indexer.runOnce();
    expect((await store.getFlowRecord(IN_PROGRESS))?.state).toBe('active');
    expect(reported).toEqual([]);

    // Still inside the quiet period: nothing to do.
    nowMs += 10_000;
    expect(await indexer.runOnce()).toBe(0);

    nowMs = NOW + QUIET_MS + 2000;
    expect(await indexer.runOnce()).toBe(1);
    const record = await store.getFlowRecord(IN_PROGRESS);
    expect(record?.state).toBe('incomplete');
    expect(record?.anomalies.map((a) => a.kind)).toContain('lost-message');
    expect(reported.map((a) => a.kind)).toEqual(['lost-message']);
    // Judged: looked at once more two quiet periods later (evidence that arrives as an absence:
    // a span lost at export), then no longer tracked; nothing reported twice.
    expect(indexer.stats().tracked).toBe(1);
    nowMs += QUIET_MS;
    expect(await indexer.runOnce()).toBe(0);
    nowMs += QUIET_MS;
    expect(await indexer.runOnce()).toBe(1);
    expect(indexer.stats().tracked).toBe(0);
    nowMs += 10 * QUIET_MS;
    expect(await indexer.runOnce()).toBe(0);
    expect(reported.map((a) => a.kind)).toEqual(['lost-message']);
  });

  it('withdraws a reported finding that a later analysis no longer makes, even after the flow was judged', async () => {
    await stillExporting('billing', NOW + QUIET_MS);
    const indexer = indexerFor();
    indexer.noteSpans(spansOf(IN_PROGRESS));
    nowMs = NOW + QUIET_MS + 2000;
    await indexer.runOnce();
    expect(reported.map((a) => a.kind)).toEqual(['lost-message']);
    nowMs += 2 * QUIET_MS;
    await indexer.runOnce();
    expect(indexer.stats().tracked).toBe(0);

    // BillCustomer's consumer span arrives late (a slow exporter): the message was not lost.
    const bill = spansOf(IN_PROGRESS).find((span) => span.messageType === 'BillCustomer' && span.kind === 'producer')!;
    const late = attempt({ parent: bill, service: 'billing', outcome: 'processed', atMs: NOW + 500 });
    await store.insertSpans([late]);
    indexer.noteSpans([late]);
    nowMs += 1000;
    await indexer.runOnce();
    expect(withdrawn.map((a) => [a.kind, a.messageId])).toEqual([['lost-message', bill.messageId]]);
    expect((await store.getFlowRecord(IN_PROGRESS))?.anomalies.map((a) => a.kind)).not.toContain('lost-message');
    expect(reported).toHaveLength(1);
  });

  it('learns subscribers and delivery latencies from the store, and judges fan-out with them', async () => {
    const indexer = indexerFor();
    indexer.noteSpans(fixture.spans);
    await indexer.drain();
    const { subscriptions, deliveryLatencyP99Ms } = indexer.expectations();
    const orderBilled = subscriptions?.get(subscriptionKey('billing', 'OrderBilled'));
    expect([...(orderBilled?.usual.keys() ?? [])].sort()).toEqual(['marketing/order-events', 'shipping/order-events']);
    expect([...(orderBilled?.known.keys() ?? [])]).toContain('invoicing/order-events');
    expect(deliveryLatencyP99Ms?.get('BillCustomer')).toBeGreaterThan(0);
    const missed = await store.getFlowRecord('conv-missed-delivery');
    expect(missed?.anomalies.map((a) => [a.kind, a.service, a.endpoint])).toEqual([
      ['missed-delivery', 'marketing', 'marketing/order-events'],
    ]);
    expect(missed?.verdict).toBe('violated');
    expect(missed?.ledger.noLost.reason).toContain('missed-delivery');
  });

  it('keeps a flow active until its committed outbox is past the stuck threshold, analysing it only when due', async () => {
    // orders: SubmitOrder processed, committed at +20 ms with BillCustomer in its outbox; the dispatcher never ran.
    const submit = send({
      service: 'shop-api',
      messageId: 'submit-9',
      messageType: 'SubmitOrder',
      destination: 'orders',
      atMs: NOW,
      conversationId: 'conv-outbox',
    });
    const handle = attempt({
      parent: submit,
      service: 'orders',
      outcome: 'processed',
      outgoing: ['bill-9'],
      atMs: NOW + 10,
      durationMs: 20,
      attributes: { 'onceflow.committed_at_ms': String(NOW + 20) },
    });
    await store.insertSpans([submit, handle]);
    await stillExporting('orders', NOW + 1000);
    const indexer = indexerFor({ quietPeriodMs: 5000, stuckOutboxAfterMs: 30_000 });
    indexer.noteSpans([submit, handle]);
    for (nowMs = NOW + 1000; nowMs < NOW + 30_000; nowMs += 1000) await indexer.runOnce();
    expect((await store.getFlowRecord('conv-outbox'))?.state).toBe('active');
    // Analysed on the debounce, then due again only once the threshold has passed.
    expect(indexer.stats().analysed).toBe(1);
    nowMs = NOW + 31_100;
    await indexer.runOnce();
    const record = await store.getFlowRecord('conv-outbox');
    expect(record?.state).toBe('incomplete');
    expect(record?.anomalies.map((a) => a.kind)).toEqual(['stuck-outbox']);
  });

  it('re-analyses a conversation when new spans arrive for it', async () => {
    const indexer = indexerFor();
    const spans = spansOf('conv-healthy');
    expect(spans.length).toBeGreaterThan(0);
    indexer.noteSpans(spans);
    await indexer.drain();
    indexer.noteSpans(spans.slice(0, 1));
    nowMs += 1000;
    expect(await indexer.runOnce()).toBe(1);
    expect(saved.filter((record) => record.conversationId === 'conv-healthy')).toHaveLength(2);
  });

  it('catches up on start-up from the store', async () => {
    const indexer = indexerFor();
    expect(await indexer.catchUp()).toBeGreaterThanOrEqual(fixture.expected.length);
    expect(await indexer.runOnce()).toBe(fixture.expected.length);
    expect((await store.listFlows({ fromMs: NOW - 3_600_000, toMs: NOW + 1, limit: 100 })).total).toBe(fixture.expected.length);
  });

  it('stays within maxTracked and counts what it dropped', async () => {
    const indexer = indexerFor({ maxTracked: 3 });
    indexer.noteSpans(fixture.spans);
    expect(indexer.stats()).toMatchObject({ tracked: 3, dropped: fixture.expected.length - 3 });
  });

  it('logs and retries a failing conversation without stopping the others', async () => {
    let failures = 0;
    const failing = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'spansOfConversation') {
          return (conversationId: string, limit: number) => {
            if (conversationId === 'conv-healthy' && failures++ < 1) return Promise.reject(new Error('disk on fire'));
            return target.spansOfConversation(conversationId, limit);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as SpanStore;
    const indexer = indexerFor({ store: failing });
    indexer.noteSpans(fixture.spans);
    expect(await indexer.drain()).toBe(fixture.expected.length - 1);
    expect(indexer.stats().failures).toBe(1);
    expect(await store.getFlowRecord('conv-healthy')).toBeNull();
    nowMs += 10_000;
    expect(await indexer.runOnce()).toBe(1);
    expect((await store.getFlowRecord('conv-healthy'))?.state).toBe('complete');
  });

  /**
   * One business key, two conversations, one consumer endpoint (billing/orders):
   *
   *   conv-bk-placed     shop ─OrderPlaced m-placed (t+0)────→ billing/orders @ t+10 s  (late)
   *   conv-bk-cancelled  shop ─OrderCancelled m-cancelled (t+1 s)→ billing/orders @ t+5 s
   *
   * billing processed the cancellation before the order it cancels, though it was sent later:
   * the placed flow gets an `out-of-order` anomaly, the cancelled flow none. Near miss: billing
   * processes m-placed at t+2 s, in send order, and neither flow has one.
   */
  it.each([
    ['out of send order', 10_000, ['out-of-order']],
    ['in send order (near miss)', 2_000, []],
  ])('judges processing per business key across conversations: %s', async (_label, placedProcessedAfterMs, expected) => {
    const t = NOW - 10 * QUIET_MS - 60_000;
    const common = { businessKey: 'order-bk-1', destination: 'orders' };
    const spans = [
      send({ ...common, service: 'shop', messageId: 'm-placed', messageType: 'OrderPlaced', atMs: t, conversationId: 'conv-bk-placed' }),
      attempt({
        ...common,
        service: 'billing',
        messageId: 'm-placed',
        messageType: 'OrderPlaced',
        atMs: t + placedProcessedAfterMs,
        outcome: 'processed',
        conversationId: 'conv-bk-placed',
      }),
      send({
        ...common,
        service: 'shop',
        messageId: 'm-cancelled',
        messageType: 'OrderCancelled',
        atMs: t + 1000,
        conversationId: 'conv-bk-cancelled',
      }),
      attempt({
        ...common,
        service: 'billing',
        messageId: 'm-cancelled',
        messageType: 'OrderCancelled',
        atMs: t + 5000,
        outcome: 'processed',
        conversationId: 'conv-bk-cancelled',
      }),
    ];
    await store.insertSpans(spans);
    const indexer = indexerFor();
    indexer.noteSpans(spans);
    expect(await indexer.drain()).toBe(2);
    const placed = await store.getFlowRecord('conv-bk-placed');
    const cancelled = await store.getFlowRecord('conv-bk-cancelled');
    // Reported on the message that overtook (as inside one flow): m-cancelled, sent later, processed first.
    expect(cancelled?.anomalies.map((a) => a.kind)).toEqual(expected);
    expect(placed?.anomalies).toEqual([]);
    expect(reported.filter((a) => a.kind === 'out-of-order').map((a) => [a.conversationId, a.messageId, a.endpoint])).toEqual(
      expected.map(() => ['conv-bk-cancelled', 'm-cancelled', 'billing/orders']),
    );
  });

  describe("spans lost at export, learned from the services' export streams", () => {
    // orders sends BillCustomer at t; billing's consumer span never arrives. billing's other
    // spans (another flow) are numbered 1, 2, _, 4, 5: the hole at t + 3 s may be the consumer.
    const t = NOW - 10 * 60_000;
    const numbered = (seq: number, atMs: number) =>
      attempt({
        service: 'billing',
        messageId: `other-${seq}`,
        messageType: 'Other',
        atMs,
        outcome: 'processed',
        conversationId: 'conv-billing-other',
        attributes: { [ATTR_EXPORT_STREAM]: 'b111111111111111', [ATTR_EXPORT_SEQ]: String(seq) },
      });
    const judgeUndelivered = async (billingNumbers: number[]) => {
      const spans = [
        send({
          service: 'orders',
          messageId: 'bill-x',
          messageType: 'BillCustomer',
          destination: 'billing',
          atMs: t,
          conversationId: 'conv-undelivered',
        }),
        ...billingNumbers.map((seq) => numbered(seq, t + seq * 1000)),
      ];
      await store.insertSpans(spans);
      lastIndexer = indexerFor();
      lastIndexer.noteSpans(spans);
      await lastIndexer.drain();
      return (await store.getFlowRecord('conv-undelivered'))!;
    };
    let lastIndexer: FlowIndexer;
    /** BillCustomer processed once by billing at t (billing numbers 1, 2), judged at its quiet deadline. */
    const judgeProcessedOnce = async (conversationId: string) => {
      const sent = send({
        service: 'orders',
        messageId: `bill-${conversationId}`,
        messageType: 'BillCustomer',
        destination: 'billing',
        atMs: t,
        conversationId,
      });
      const processed = {
        ...attempt({ parent: sent, service: 'billing', outcome: 'processed', atMs: t + 20 }),
        attributes: { [ATTR_EXPORT_STREAM]: 'b111111111111111', [ATTR_EXPORT_SEQ]: '1' },
      };
      await store.insertSpans([sent, processed, numbered(2, t + 1000)]);
      const indexer = indexerFor();
      nowMs = t + QUIET_MS + 5000;
      indexer.noteSpans([sent, processed]);
      nowMs += 1000;
      await indexer.runOnce();
      expect((await store.getFlowRecord(conversationId))?.ledger?.noDuplicateProcessing.verdict).toBe('held');
      return indexer;
    };

    it('makes an undelivered message unknown, not lost, when its possible consumer lost a span meanwhile', async () => {
      const record = await judgeUndelivered([1, 2, 4, 5]);
      expect(record.anomalies.map((a) => a.kind)).toEqual([]);
      expect(record.ledger?.noLost.verdict).toBe('unknown');
      expect(record.ledger?.noLost.reason).toContain('spans lost at export by billing (1)');
    });

    it("shows the flow's detail as judged: unknown, not the lost message the missing span only seems to prove", async () => {
      await judgeUndelivered([1, 2, 4, 5]);
      const app = await createApp({ store, logger: silentLogger(), clock: () => nowMs, indexer: lastIndexer, quietPeriodMs: QUIET_MS });
      try {
        const flow = (await app.inject({ url: '/api/flows/conv-undelivered' })).json() as Flow;
        expect(flow.anomalies.map((a) => a.kind)).toEqual([]);
        expect(flow.ledger.noLost.verdict).toBe('unknown');
      } finally {
        await app.close();
      }
    });

    it('looks again after judging: a redelivery whose span was lost after the verdict turns held into unknown', async () => {
      // Judged held. Later billing's numbers go 2, _, 4: the missing 3 may be a redelivery
      // processed again, out of sight.
      const indexer = await judgeProcessedOnce('conv-redelivered');

      await store.insertSpans([numbered(4, t + QUIET_MS + 10_000)]);
      nowMs += 2 * QUIET_MS;
      expect(await indexer.runOnce()).toBe(1);
      const record = await store.getFlowRecord('conv-redelivered');
      expect(record?.ledger?.noDuplicateProcessing.verdict).toBe('unknown');
      expect(record?.ledger?.noDuplicateProcessing.reason).toContain('a redelivery of BillCustomer');
      expect(indexer.stats().tracked).toBe(0);
    });

    it('shows the detail as the list judged it: a span lost after the second look does not turn it unknown when opened', async () => {
      // Judged held and looked at again (held). Only then does billing lose a span (numbers
      // 2, _, 4): the flow is no longer tracked, and its detail must not contradict the list.
      const indexer = await judgeProcessedOnce('conv-judged');
      nowMs += 2 * QUIET_MS;
      await indexer.runOnce();
      expect(indexer.stats().tracked).toBe(0);
      expect((await store.getFlowRecord('conv-judged'))?.ledger?.noDuplicateProcessing.verdict).toBe('held');

      await store.insertSpans([numbered(4, nowMs + 10_000)]);
      nowMs += 60_000;
      const app = await createApp({ store, logger: silentLogger(), clock: () => nowMs, indexer, quietPeriodMs: QUIET_MS });
      try {
        const flow = (await app.inject({ url: '/api/flows/conv-judged' })).json() as Flow;
        expect(flow.ledger.noDuplicateProcessing.verdict).toBe('held');
      } finally {
        await app.close();
      }
    });

    /**
     * Much later, billing (a stream that counts entries) delivers two other messages with a hole
     * between: numbers 1, _, 3, entries 1, _, 3. The third names the lost second as `lostFor`.
     */
    const laterDeliveries = async (indexer: FlowIndexer, lostFor: string) => {
      const at = nowMs + 5 * 60_000;
      const delivery = (seq: number, atMs: number, previous: string[]) =>
        attempt({
          service: 'billing',
          messageId: `late-${seq}`,
          messageType: 'Other',
          atMs,
          outcome: 'processed',
          conversationId: 'conv-billing-late',
          attributes: {
            [ATTR_EXPORT_STREAM]: 'c222222222222222',
            [ATTR_EXPORT_SEQ]: String(seq),
            [ATTR_EXPORT_ENTRIES]: String(seq),
            [ATTR_EXPORT_PREVIOUS_ENTRIES]: JSON.stringify(previous),
          },
        });
      const spans = [delivery(1, at, ['before']), delivery(3, at + 2000, [lostFor, 'late-1'])];
      await store.insertSpans(spans);
      nowMs = at + 3000;
      indexer.noteSpans(spans);
      nowMs += 1500;
      expect(await indexer.runOnce()).toBe(1);
      nowMs += 1500;
      return indexer.runOnce();
    };

    it('judges a flow again when a delivery of its message is lost long after its second look, named by the delivery after it', async () => {
      const indexer = await judgeProcessedOnce('conv-late');
      nowMs += 2 * QUIET_MS;
      await indexer.runOnce();
      expect(indexer.stats().tracked).toBe(0);

      expect(await laterDeliveries(indexer, 'bill-conv-late')).toBe(1);
      const record = await store.getFlowRecord('conv-late');
      expect(record?.ledger?.noDuplicateProcessing.verdict).toBe('unknown');
      expect(record?.ledger?.noDuplicateProcessing.reason).toContain('a delivery span of this message was lost at export by billing');
    });

    it("leaves a judged flow alone when the lost delivery is named for another flow's message (near-miss)", async () => {
      const indexer = await judgeProcessedOnce('conv-late-other');
      nowMs += 2 * QUIET_MS;
      await indexer.runOnce();
      const judged = await store.getFlowRecord('conv-late-other');

      expect(await laterDeliveries(indexer, 'bill-somebody-else')).toBe(0);
      expect(await store.getFlowRecord('conv-late-other')).toEqual(judged);
    });

    it('still reports it lost when every numbered span arrived (near-miss)', async () => {
      const record = await judgeUndelivered([1, 2, 3, 4, 5]);
      expect(record.anomalies.map((a) => a.kind)).toEqual(['lost-message']);
      expect(record.ledger?.noLost.verdict).toBe('violated');
    });
  });
});
