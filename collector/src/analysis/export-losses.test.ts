import { describe, expect, it } from 'vitest';
import type { ExportSequenceRow } from '../store/span-store.js';
import { describeLosses, findExportLosses, lossesDuring } from './export-losses.js';

const row = (
  service: string,
  stream: string,
  minSeq: number,
  maxSeq: number,
  received: number,
  firstStartMs: number,
  lastStartMs: number,
) =>
  ({
    service,
    stream,
    bucketMs: Math.floor(firstStartMs / 10_000) * 10_000,
    minSeq,
    maxSeq,
    received,
    firstStartMs,
    lastStartMs,
  }) satisfies ExportSequenceRow;

describe('spans lost at export', () => {
  it('finds nothing in a complete stream, across buckets', () => {
    expect(findExportLosses([row('billing', 'a', 1, 10, 10, 0, 9_000), row('billing', 'a', 11, 20, 10, 10_000, 19_000)])).toEqual([]);
  });

  it('finds a hole inside a bucket, timed by the bucket’s first and last span', () => {
    expect(findExportLosses([row('billing', 'a', 1, 10, 8, 1_000, 9_000)])).toEqual([
      { service: 'billing', stream: 'a', fromMs: 1_000, toMs: 9_000, missing: 2 },
    ]);
  });

  it('finds a hole between buckets, timed by its received neighbours (an idle minute between them included)', () => {
    const rows = [row('billing', 'a', 11, 12, 2, 70_000, 71_000), row('billing', 'a', 1, 9, 9, 0, 5_000)];
    expect(findExportLosses(rows)).toEqual([{ service: 'billing', stream: 'a', fromMs: 5_000, toMs: 70_000, missing: 1 }]);
  });

  it('keeps streams apart: a restarted process numbering from 1 again is not a hole', () => {
    const rows = [
      row('billing', 'old', 1, 50, 50, 0, 5_000),
      row('billing', 'new', 1, 3, 3, 6_000, 7_000),
      row('orders', 'x', 1, 2, 2, 0, 1),
    ];
    expect(findExportLosses(rows)).toEqual([]);
  });

  it('tells overlapping buckets (a span given an earlier start) from a hole', () => {
    const rows = [
      row('billing', 'a', 1, 10, 10, 0, 9_000),
      row('billing', 'a', 5, 5, 1, 12_000, 12_000),
      row('billing', 'a', 11, 12, 2, 13_000, 14_000),
    ];
    expect(findExportLosses(rows)).toEqual([]);
  });

  it('selects losses by service and overlap, and names them per service', () => {
    const losses = [
      { service: 'billing', stream: 'a', fromMs: 1_000, toMs: 2_000, missing: 2 },
      { service: 'billing', stream: 'b', fromMs: 5_000, toMs: 6_000, missing: 1 },
      { service: 'orders', stream: 'c', fromMs: 1_500, toMs: 1_600, missing: 4 },
    ];
    expect(lossesDuring(losses, new Set(['billing']), 1_900, 5_000)).toEqual([losses[0], losses[1]]);
    expect(lossesDuring(losses, new Set(['billing']), 2_001, 4_999)).toEqual([]);
    expect(lossesDuring(losses, null, 0, 1_550)).toEqual([losses[0], losses[2]]);
    expect(describeLosses(losses)).toBe('billing (3), orders (4)');
  });
});
