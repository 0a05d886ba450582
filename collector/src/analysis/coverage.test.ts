import { describe, expect, it } from 'vitest';
import type { CoverageRow } from '../store/span-store.js';
import type { CoverageInvariant } from '../contract/index.js';
import { shapeCoverage, unknownVerdictsOf, zeroCounts } from './coverage.js';

const WINDOW = { fromMs: 0, toMs: 60_000 };

/** A row with every count 0 except the ones given. */
function row(service: string, endpoint: string, counts: Partial<CoverageRow> = {}): CoverageRow {
  return { service, endpoint, ...zeroCounts(), ...counts };
}

/** A fully instrumented endpoint: every attempt identified, with an outcome, processed and committed. */
const fullAttempts = (n: number) => ({
  spans: n,
  withMessageId: n,
  withConversation: n,
  attempts: n,
  attemptsWithMessageId: n,
  attemptsWithOutcome: n,
  processed: n,
  processedWithCommit: n,
});
const fullSends = (n: number) => ({ spans: n, withMessageId: n, withConversation: n, sends: n, sendsWithMessageId: n, sendsWithDigest: n });

describe('shapeCoverage', () => {
  it('sums a service over its endpoints and its other spans, with shares', () => {
    const coverage = shapeCoverage(
      [
        row('billing', 'billing/orders', fullAttempts(8)),
        row('billing', 'billing/refunds', { ...fullAttempts(2), attemptsWithOutcome: 1, processed: 1, processedWithCommit: 0 }),
        row('billing', '', { ...fullSends(10), spans: 30, withConversation: 20 }),
      ],
      WINDOW,
    );
    expect(coverage).toMatchObject({ fromMs: 0, toMs: 60_000 });
    const [billing] = coverage.services;
    expect(billing).toMatchObject({
      service: 'billing',
      spans: 40,
      withMessageId: 20,
      messageIdShare: 0.5,
      conversationShare: 30 / 40,
      messagingIdentityShare: 1,
      digestShare: 1,
      attempts: 10,
      outcomeShare: 0.9,
      processed: 9,
      commitShare: 8 / 9,
    });
    expect(billing.endpoints.map((e) => [e.endpoint, e.attempts, e.outcomeShare, e.commitShare])).toEqual([
      ['billing/orders', 8, 1, 1],
      ['billing/refunds', 2, 0.5, 0],
    ]);
  });

  it('counts spans lost at export from the export numbers, and the verdicts they make unknown', () => {
    const seq = (service: string, minSeq: number, maxSeq: number, received: number, bucketMs: number) => ({
      service,
      stream: `${service}-stream`,
      bucketMs,
      minSeq,
      maxSeq,
      received,
      firstStartMs: bucketMs,
      lastStartMs: bucketMs + 59_000,
    });
    const coverage = shapeCoverage(
      [
        row('billing', 'billing/orders', { ...fullAttempts(10), attemptsWithMessageId: 9 }),
        row('orders', 'orders/orders', fullAttempts(4)),
        row('legacy', '', { spans: 3 }),
      ],
      WINDOW,
      // billing: 1..10 with 2 missing inside, then 13..20 (11, 12 missing between): 4 lost of 20
      [seq('billing', 1, 10, 8, 0), seq('billing', 13, 20, 8, 60_000), seq('orders', 1, 4, 4, 0)],
    );
    const byService = Object.fromEntries(coverage.services.map((s) => [s.service, s]));
    expect(byService.billing).toMatchObject({ numberedSpans: 16, lostAtExport: 4, exportLossShare: 4 / 20 });
    expect(byService.orders).toMatchObject({ numberedSpans: 4, lostAtExport: 0, exportLossShare: 0 });
    expect(byService.legacy).toMatchObject({ numberedSpans: 0, lostAtExport: 0, exportLossShare: null });
    // One entry per invariant: the missing message id and the export loss share noLost.
    expect(byService.billing.unknownVerdicts.map((v) => v.invariant)).toEqual(['noDuplicateProcessing', 'noLost']);
    const noLost = byService.billing.unknownVerdicts.find((v) => v.invariant === 'noLost')!.reason;
    expect(noLost).toContain('carries no message id');
    expect(noLost).toContain('4 spans lost at export (4 of 20 numbered)');
    expect(coverage.services[0].service).toBe('billing');
    expect(byService.orders.unknownVerdicts).toEqual([]);
  });

  it('lists the services that make the most verdicts unknown first', () => {
    const coverage = shapeCoverage(
      [
        row('api', '', { spans: 50, withConversation: 50 }),
        row('shipping', 'shipping/ship', { ...fullAttempts(5), attemptsWithOutcome: 0, processed: 0, processedWithCommit: 0 }),
        row('shipping', '', { ...fullSends(5), sendsWithDigest: 0 }),
        row('billing', 'billing/orders', fullAttempts(5)),
      ],
      WINDOW,
    );
    expect(coverage.services.map((s) => [s.service, s.unknownVerdicts.map((v) => v.invariant)])).toEqual([
      ['shipping', ['noDuplicateProcessing', 'noGhost', 'consistentOutput']],
      ['api', []],
      ['billing', []],
    ]);
  });

  it('a service with no sends or attempts has null messaging shares, not 0 or NaN', () => {
    const [api] = shapeCoverage([row('api', '', { spans: 3 })], WINDOW).services;
    expect([api.messagingIdentityShare, api.digestShare, api.outcomeShare, api.commitShare]).toEqual([null, null, null, null]);
    expect(api.messageIdShare).toBe(0);
    expect(api.endpoints).toEqual([]);
  });

  it('no rows, no services', () => {
    expect(shapeCoverage([], WINDOW).services).toEqual([]);
  });
});

describe('unknownVerdictsOf', () => {
  const counts = (c: Partial<CoverageRow>) => {
    const { service: _s, endpoint: _e, ...rest } = row('s', '', c);
    return rest;
  };
  it.each<[string, Partial<CoverageRow>, CoverageInvariant[]]>([
    ['fully instrumented', { ...fullAttempts(3), ...fullSends(3), spans: 6 }, []],
    ['attempts without outcomes, no sends', { ...fullAttempts(3), attemptsWithOutcome: 1 }, ['noDuplicateProcessing']],
    [
      'attempts without outcomes that send',
      { ...fullAttempts(3), attemptsWithOutcome: 2, sends: 1, sendsWithMessageId: 1, sendsWithDigest: 1 },
      ['noDuplicateProcessing', 'noGhost'],
    ],
    ['sends without ids', { sends: 4, sendsWithMessageId: 3, sendsWithDigest: 4 }, ['noLost']],
    ['attempts without ids', { ...fullAttempts(2), attemptsWithMessageId: 0 }, ['noLost']],
    ['sends without digests', { sends: 4, sendsWithMessageId: 4, sendsWithDigest: 0 }, ['consistentOutput']],
    ['processed without commit markers only', { ...fullAttempts(3), processedWithCommit: 0 }, []],
    ['plain HTTP spans only', { spans: 9, withConversation: 9 }, []],
  ])('%s → %j', (_name, c, expected) => {
    expect(unknownVerdictsOf(counts(c)).map((v) => v.invariant)).toEqual(expected);
  });

  it('says what is missing with counts', () => {
    const verdicts = unknownVerdictsOf(
      counts({ ...fullAttempts(40), attemptsWithOutcome: 28, sends: 5, sendsWithMessageId: 4, sendsWithDigest: 5 }),
    );
    expect(verdicts.map((v) => v.reason)).toEqual([
      '12 of 40 attempts record no outcome: a processing and a skipped duplicate cannot be told apart',
      '12 of 40 attempts record no outcome: whether an attempt that sent messages committed is not known',
      '1 of 5 sends carries no message id: a delivery cannot be matched to its send',
    ]);
  });
});
