import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatList, quote } from './format.js';

describe('detail formatting', () => {
  it.each([
    [850, '850 ms'],
    [3200, '3.2 s'],
    [270_000, '4.5 min'],
    [7_200_000, '2.0 h'],
  ])('formatDuration(%d) = %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it.each([
    [512, '512 B'],
    [2400, '2.4 KB'],
    [2_400_000, '2.4 MB'],
  ])('formatBytes(%d) = %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));

  it.each([
    [[1], '1'],
    [[1, 2], '1 and 2'],
    [[1, 0, 3], '1, ? and 3'],
    [Array.from({ length: 10_000 }, (_, i) => i + 1), '1, 2, 3, … 9995 more …, 9999 and 10000'],
  ])('formatList(%j)', (items, text) => expect(formatList(items)).toBe(text));

  it('keeps quoted errors on one short line', () => {
    expect(quote('a\n  b')).toBe('"a b"');
    expect(quote('x'.repeat(100), 10)).toBe(`"${'x'.repeat(9)}…"`);
  });
});
