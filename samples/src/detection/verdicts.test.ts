import { describe, expect, it } from 'vitest';
import { causeOf, countVerdicts, judgementOf } from './verdicts.js';

const ledger = (...verdicts: string[]) => ({
  ledger: Object.fromEntries(verdicts.map((verdict, i) => [`invariant${i}`, { verdict, evidence: [], reason: '' }])),
});

describe('countVerdicts', () => {
  it.each([
    { name: 'no flows', flows: [], verdicts: 0, unknown: 0 },
    { name: 'flows without a ledger (a collector before the verdicts issue)', flows: [{}, { anomalies: [] }], verdicts: 0, unknown: 0 },
    {
      name: 'held, violated and unknown',
      flows: [ledger('held', 'unknown'), ledger('violated', 'unknown', 'held')],
      verdicts: 5,
      unknown: 2,
    },
    {
      name: 'entries without a verdict are skipped',
      flows: [{ ledger: { a: { verdict: 'held' }, b: null, c: 3 } }],
      verdicts: 1,
      unknown: 0,
    },
  ])('$name', ({ flows, verdicts, unknown }) => {
    expect(countVerdicts(flows)).toMatchObject({ flows: flows.length, verdicts, unknown });
  });
});

describe('unknown verdicts by cause', () => {
  it.each([
    [
      'spans lost at export by orders (3), billing (1) in that time (gaps in their span numbers): a redelivery of PlaceOrder processed at orders/orders may be among them',
      'spans lost at export by orders, billing',
    ],
    [
      'delivery spans lost at export by orders (2) in that time (gaps in their numbers): a redelivery of PlaceOrder processed at orders/orders may be among them',
      'delivery spans lost at export by orders',
    ],
    [
      'a delivery span of this message was lost at export by orders (named by the delivery after it): a redelivery of PlaceOrder …',
      'its own delivery span lost at export by orders',
    ],
    ['spans missing from trace 4bf92f35 (a parent span never arrived)', 'spans missing from a trace'],
    [
      'billing has no numbered spans (no Onceflow span processor, or none exported lately): a consumer span …',
      'a consumer without export numbers',
    ],
    ['attempt 1 of BillCustomer at billing/billing left no span: one may have committed', 'attempt numbers with holes'],
    ['a reason nobody classified yet: with its particulars', 'a reason nobody classified yet'],
  ])('%s → %s', (reason, cause) => {
    expect(causeOf(reason)).toBe(cause);
  });

  it('counts each invariant and cause, most first', () => {
    const lostAtExport = { verdict: 'unknown', evidence: [], reason: 'spans lost at export by orders (1) in that time (gaps…): x' };
    const flows = [
      { ledger: { noDuplicateProcessing: lostAtExport, noLost: { verdict: 'held', evidence: [], reason: '' } } },
      { ledger: { noDuplicateProcessing: { ...lostAtExport, reason: lostAtExport.reason.replace('(1)', '(4)') } } },
      { ledger: { noLost: { verdict: 'unknown', evidence: [], reason: 'billing has no numbered spans (…)' } } },
    ];
    expect(countVerdicts(flows).unknownByCause).toEqual([
      ['noDuplicateProcessing: spans lost at export by orders', 2],
      ['noLost: a consumer without export numbers', 1],
    ]);
  });
});

describe('judgementOf', () => {
  it('reads one invariant of a flow, and nothing from a flow without a ledger', () => {
    const flow = {
      ledger: { noLost: { verdict: 'unknown', reason: 'spans lost at export by orders (1)' }, noGhost: { verdict: 'held', reason: '' } },
    };
    expect(judgementOf(flow, 'noLost')).toEqual({ verdict: 'unknown', reason: 'spans lost at export by orders (1)' });
    expect(judgementOf(flow, 'noGhost')).toEqual({ verdict: 'held', reason: undefined });
    expect(judgementOf(flow, 'consistentOutput').verdict).toBeUndefined();
    expect(judgementOf({}, 'noLost').verdict).toBeUndefined();
    expect(judgementOf(null, 'noLost').verdict).toBeUndefined();
  });
});
