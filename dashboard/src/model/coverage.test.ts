import { describe, expect, it } from 'vitest';
import { formatShare, shareLevel } from './coverage.js';

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
