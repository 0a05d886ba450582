import { describe, expect, it } from 'vitest';
import type { Storm } from './types.js';
import { stormAreas, topOffenders } from './storms.js';

function makeStorm(overrides: Partial<Storm> & Pick<Storm, 'id'>): Storm {
  return {
    kind: 'duplicate',
    service: 'billing',
    messageType: 'OrderPlaced',
    startMs: 0,
    endMs: 60_000,
    peakPerMinute: 50,
    baselinePerMinute: 1,
    count: 80,
    topKeys: [{ messageId: 'm1', count: 30 }],
    ...overrides,
  };
}

describe('storms', () => {
  const storms = [
    makeStorm({ id: 's1' }),
    makeStorm({ id: 's2', service: 'shipping', count: 200, startMs: 100_000, endMs: 100_000, topKeys: [{ messageId: 'm1', count: 5 }] }),
  ];

  it('gives even an instant storm a visible band', () => {
    expect(stormAreas(storms, 30_000).map((a) => [a.x1, a.x2])).toEqual([
      [0, 60_000],
      [100_000, 130_000],
    ]);
  });

  it('ranks offending services, types and keys across episodes', () => {
    const top = topOffenders(storms);
    expect(top.services).toEqual([
      { name: 'shipping', count: 200, storms: 1 },
      { name: 'billing', count: 80, storms: 1 },
    ]);
    expect(top.messageTypes).toEqual([{ name: 'OrderPlaced', count: 280, storms: 2 }]);
    expect(top.keys).toEqual([{ name: 'm1', count: 35, storms: 2 }]);
  });
});
