import { describe, expect, it } from 'vitest';
import type { Storm } from './types.js';
import { episodeFlowParams, STORM_KIND_STYLES, stormBands, topStormKeys } from './storms.js';

function makeStorm(overrides: Partial<Storm> & Pick<Storm, 'id'>): Storm {
  return {
    kind: 'duplicate-delivery',
    service: 'billing',
    destination: 'orders',
    endpoint: 'billing/orders',
    messageType: 'OrderPlaced',
    startMs: 0,
    endMs: 60_000,
    peakPerMinute: 50,
    baselinePerMinute: 1,
    spreadPerMinute: 1,
    score: 49,
    levelShift: false,
    ongoing: false,
    count: 80,
    topKeys: [{ messageId: 'm1', count: 30 }],
    ...overrides,
  };
}

describe('storms', () => {
  const storms = [
    makeStorm({ id: 's1' }),
    makeStorm({
      id: 's2',
      kind: 'retry',
      service: 'shipping',
      messageType: 'ShipOrder',
      count: 200,
      startMs: 100_000,
      endMs: 100_000,
      levelShift: true,
      topKeys: [{ messageId: 'm1', count: 5 }],
    }),
  ];
  const bands = stormBands(storms, 30_000, (storm) => `/flows?storm=${storm.id}`);

  it('gives even an instant storm a visible band', () => {
    expect(bands.map((a) => [a.x1, a.x2])).toEqual([
      [0, 60_000],
      [100_000, 130_000],
    ]);
  });

  it('labels each band briefly with its rank, and names it in full for hover', () => {
    expect(bands.map((band) => band.label)).toEqual(['#1 dup delivery · OrderPlaced', '#2 retry (shift) · ShipOrder']);
    expect(bands[1].title).toContain('level shift');
    expect(bands[1].title).toContain('billing/orders');
    expect(bands.map((band) => [band.colour, band.dashed, band.href])).toEqual([
      [STORM_KIND_STYLES['duplicate-delivery'].colour, false, '/flows?storm=s1'],
      [STORM_KIND_STYLES.retry.colour, true, '/flows?storm=s2'],
    ]);
  });

  it.each([
    ['duplicate-delivery', 'duplicate-delivery'],
    ['duplicate-processing', 'duplicate-processing'],
    ['retry', 'retry'],
    ['dead-letter', 'dead-letter'],
    ['failure', undefined],
  ] as const)('opens the flows of a %s episode filtered by %s', (kind, anomaly) => {
    const params = episodeFlowParams(makeStorm({ id: 'x', kind, startMs: 600_000, endMs: 780_000 }), 60_000);
    expect(params).toEqual({ from: 540_000, to: 780_000, service: 'billing', messageType: 'OrderPlaced', ...(anomaly ? { anomaly } : {}) });
  });

  it('ranks the message ids that recur across episodes', () => {
    expect(topStormKeys(storms)).toEqual([{ name: 'm1', count: 35, storms: 2 }]);
  });
});
