import { describe, expect, it } from 'vitest';
import { exportLossLevel, formatShare, shareLevel } from './coverage.js';

describe('coverage presentation', () => {
  it.each([
    [1, '100 %', 'full'],
    [0.9996, '99.9 %', 'partial'],
    [0.375, '38 %', 'partial'],
    [0.004, '0.4 %', 'partial'],
    [0, '0 %', 'none'],
    [null, '–', 'n/a'],
    [Number.NaN, '–', 'n/a'],
  ] as const)('share %s → %s (%s)', (share, text, level) => {
    expect(formatShare(share)).toBe(text);
    expect(shareLevel(share)).toBe(level);
  });
});

describe('exportLossLevel', () => {
  it('is full when nothing was lost, partial below 5 %, none from 5 %, n/a when spans are not numbered', () => {
    expect(exportLossLevel(0)).toBe('full');
    expect(exportLossLevel(0.01)).toBe('partial');
    expect(exportLossLevel(0.05)).toBe('none');
    expect(exportLossLevel(null)).toBe('n/a');
  });
});
