import { describe, expect, it } from 'vitest';
import { burstAt, decide, draw, type FaultPlan, faultsFor, NO_FAULTS, SCENARIOS, scenarioPlan } from './faults.js';

describe('fault decisions', () => {
  it('are a pure function of seed, fault, service and message', () => {
    expect(draw('s', 'poison', 'billing', 'm1')).toBe(draw('s', 'poison', 'billing', 'm1'));
    expect(draw('s', 'poison', 'billing', 'm1')).not.toBe(draw('s', 'poison', 'billing', 'm2'));
    expect(draw('s', 'poison', 'billing', 'm1')).not.toBe(draw('t', 'poison', 'billing', 'm1'));
  });

  it('hit about as often as the probability says', () => {
    const plan = { seed: 'rate' };
    const hits = Array.from({ length: 4000 }, (_, i) => decide(plan, 0.25, 'crash', 'orders', `m${i}`)).filter(Boolean).length;
    expect(hits / 4000).toBeGreaterThan(0.22);
    expect(hits / 4000).toBeLessThan(0.28);
    expect(decide(plan, 0, 'crash', 'orders', 'm1')).toBe(false);
  });

  it('apply plan-wide settings, then per-service overrides', () => {
    const plan = { seed: 'x', all: { poison: 0.1, crashBeforeAck: 0.2 }, services: { billing: { poison: 0.5 } } };
    expect(faultsFor(plan, 'billing')).toEqual({ ...NO_FAULTS, poison: 0.5, crashBeforeAck: 0.2 });
    expect(faultsFor(plan, 'orders')).toEqual({ ...NO_FAULTS, poison: 0.1, crashBeforeAck: 0.2 });
  });
});

describe('fault bursts', () => {
  const plan: FaultPlan = {
    seed: 'b',
    all: { crashBeforeAck: 0.01 },
    bursts: {
      everyMs: 300_000,
      durationMs: 60_000,
      layers: [{ services: { marketing: { crashBeforeAck: 0.6 } } }, { all: { poison: 0.5 } }],
    },
  };
  it.each([
    { name: 'no time given: the plan alone', at: undefined, service: 'marketing', crash: 0.01, poison: 0 },
    { name: 'first minute of the first window: layer 1', at: 0, service: 'marketing', crash: 0.6, poison: 0 },
    { name: 'layer 1 concerns marketing only', at: 30_000, service: 'orders', crash: 0.01, poison: 0 },
    { name: 'after the burst minute: calm', at: 60_000, service: 'marketing', crash: 0.01, poison: 0 },
    { name: 'the next window: layer 2', at: 300_000 + 59_999, service: 'orders', crash: 0.01, poison: 0.5 },
    { name: 'the third window: layer 1 again', at: 600_000, service: 'marketing', crash: 0.6, poison: 0 },
  ])('$name', ({ at, service, crash, poison }) => {
    const faults = faultsFor(plan, service, at);
    expect({ crash: faults.crashBeforeAck, poison: faults.poison }).toEqual({ crash, poison });
  });

  it('the default demo is calm outside its bursts and clearly abnormal in them', () => {
    const demo = scenarioPlan('demo', 'demo-seed');
    const calm = 120_000;
    const burst = burstAt(demo.bursts, 0)!;
    expect(burst).toBeDefined();
    const ids = Array.from({ length: 4000 }, (_, i) => `m${i}`);
    // Share of messages an endpoint handles with a duplicate or a retry, in calm and in the burst.
    const troubled = (service: string, at: number) => {
      const f = faultsFor(demo, service, at);
      const hit = ids.filter((id) =>
        (['duplicatePublish', 'crashBeforeAck', 'transientFailure', 'poison'] as const).some((fault) =>
          decide(demo, f[fault], fault, service, id),
        ),
      );
      return hit.length / ids.length;
    };
    for (const service of ['orders', 'billing', 'shipping', 'invoicing', 'marketing']) expect(troubled(service, calm)).toBeLessThan(0.05);
    expect(troubled('marketing', 0)).toBeGreaterThan(0.5);
    expect(troubled('shipping', demo.bursts!.everyMs)).toBeGreaterThan(0.5);
  });
});

describe('scenarios', () => {
  it.each([
    'healthy',
    'duplicates',
    'retries',
    'poison',
    'duplicate-storm',
    'ghost',
    'lost',
    'double-processing',
    'large-payloads',
    'chaos',
  ])('%s exists', (name) => {
    expect(SCENARIOS[name]).toBeDefined();
    expect(scenarioPlan(name, 'seed').seed).toBe('seed');
  });

  it('bug modes are only in the scenarios that name them', () => {
    for (const name of ['healthy', 'duplicates', 'retries', 'poison', 'duplicate-storm', 'large-payloads', 'demo']) {
      for (const service of ['shop-api', 'orders', 'billing', 'shipping', 'invoicing', 'marketing']) {
        const faults = faultsFor(scenarioPlan(name), service);
        expect({ name, service, ghost: faults.ghost, lost: faults.lost, dedupDisabled: faults.dedupDisabled }).toEqual({
          name,
          service,
          ghost: 0,
          lost: 0,
          dedupDisabled: false,
        });
      }
    }
  });

  it('rejects an unknown scenario, naming the known ones', () => {
    expect(() => scenarioPlan('nope')).toThrow(/known: healthy/);
  });
});
