import { describe, expect, it } from 'vitest';
import type { TruthRecord } from '../faults/ground-truth.js';
import { formatScores, scoreDetection, type ReportedAnomaly } from './measure.js';

const truth = (kind: TruthRecord['kind'], messageId: string, service = 'billing'): TruthRecord => ({
  kind,
  messageId,
  service,
  messageType: 'BillCustomer',
  time: 0,
});
const found = (kind: string, messageId: string, service = 'billing'): ReportedAnomaly => ({ kind, messageId, service, detail: '' });

describe('scoreDetection', () => {
  it.each([
    {
      name: 'exact',
      truth: [truth('retry', 'a'), truth('retry', 'b')],
      found: [found('retry', 'a'), found('retry', 'b')],
      precision: 1,
      recall: 1,
    },
    { name: 'one missed', truth: [truth('retry', 'a'), truth('retry', 'b')], found: [found('retry', 'a')], precision: 1, recall: 0.5 },
    { name: 'one extra', truth: [truth('retry', 'a')], found: [found('retry', 'a'), found('retry', 'c')], precision: 0.5, recall: 1 },
    { name: 'wrong service', truth: [truth('retry', 'a')], found: [found('retry', 'a', 'orders')], precision: 0, recall: 0 },
    {
      name: 'repeated truth counts once',
      truth: [truth('retry', 'a'), truth('retry', 'a')],
      found: [found('retry', 'a')],
      precision: 1,
      recall: 1,
    },
    { name: 'nothing either side', truth: [], found: [], precision: 1, recall: 1 },
    { name: 'found without truth', truth: [], found: [found('retry', 'a')], precision: 0, recall: 1 },
  ])('$name', ({ truth: t, found: f, precision, recall }) => {
    const score = scoreDetection(t, f).find((s) => s.kind === 'retry')!;
    expect(score.precision).toBe(precision);
    expect(score.recall).toBe(recall);
  });

  it('keeps kinds apart and ignores faults that are not anomalies', () => {
    const scores = scoreDetection([truth('dead-letter', 'a'), truth('slow-consumer', 'a')], [found('retry', 'a')]);
    const byKind = Object.fromEntries(scores.map((s) => [s.kind, s]));
    expect(byKind['dead-letter'].recall).toBe(0);
    expect(byKind.retry.precision).toBe(0);
    expect(scores.some((s) => (s.kind as string) === 'slow-consumer')).toBe(false);
  });

  it('formats only the kinds a run touched', () => {
    const scores = scoreDetection([truth('retry', 'a')], [found('retry', 'a')]);
    const text = formatScores([
      {
        scenario: 'retries',
        orders: [],
        injected: [],
        truth: [],
        anomalies: [],
        scores,
        verdicts: { flows: 0, verdicts: 0, unknown: 0, field: 'ledger' },
      },
    ]);
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toMatch(/retries\s+retry\s+1\s+1\s+1\.00\s+1\.00\s+0$/m);
  });
});
