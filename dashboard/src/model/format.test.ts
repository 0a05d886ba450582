import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatPercent, formatRate, shortId } from './format.js';

describe('format', () => {
  it.each([
    [null, '–'],
    [0.5, '0.50 ms'],
    [12.4, '12 ms'],
    [1500, '1.50 s'],
    [90_000, '1.5 min'],
    [7_200_000, '2.0 h'],
  ])('formatDuration(%s) = %s', (input, expected) => {
    expect(formatDuration(input)).toBe(expected);
  });

  it.each([
    [512, '512 B'],
    [2048, '2.0 KB'],
    [5 * 1024 * 1024, '5.0 MB'],
    [300 * 1024, '300 KB'],
  ])('formatBytes(%s) = %s', (input, expected) => {
    expect(formatBytes(input)).toBe(expected);
  });

  it('formats counts, rates and percentages compactly', () => {
    expect(formatCount(12)).toBe('12');
    expect(formatCount(12_345)).toBe('12.3k');
    expect(formatRate(120)).toBe('2/s');
    expect(formatRate(3)).toBe('3/min');
    expect(formatRate(0.5)).toBe('30.0/h');
    expect(formatPercent(0.004)).toBe('0.40%');
    expect(formatPercent(0.25)).toBe('25%');
  });

  it('shortens long ids keeping both ends', () => {
    expect(shortId('abc')).toBe('abc');
    expect(shortId('0123456789abcdefghij')).toBe('01234567…ghij');
  });
});
