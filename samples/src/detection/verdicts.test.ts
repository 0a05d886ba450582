import { describe, expect, it } from 'vitest';
import { countVerdicts, verdictOf } from './verdicts.js';

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

describe('verdictOf', () => {
  it('reads one invariant of a flow, and nothing from a flow without a ledger', () => {
    const flow = { ledger: { noLost: { verdict: 'unknown' }, noGhost: { verdict: 'held' } } };
    expect(verdictOf(flow, 'noLost')).toBe('unknown');
    expect(verdictOf(flow, 'noGhost')).toBe('held');
    expect(verdictOf(flow, 'consistentOutput')).toBeUndefined();
    expect(verdictOf({}, 'noLost')).toBeUndefined();
    expect(verdictOf(null, 'noLost')).toBeUndefined();
  });
});
