import { describe, expect, it } from 'vitest';
import { decide, draw, faultsFor, NO_FAULTS, SCENARIOS, scenarioPlan } from './faults.js';

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

describe('scenarios', () => {
  it.each(['healthy', 'duplicates', 'retries', 'poison', 'duplicate-storm', 'ghost', 'lost', 'double-processing', 'large-payloads', 'chaos'])(
    '%s exists',
    (name) => {
      expect(SCENARIOS[name]).toBeDefined();
      expect(scenarioPlan(name, 'seed').seed).toBe('seed');
    },
  );

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
