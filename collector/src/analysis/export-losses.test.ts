import { describe, expect, it } from 'vitest';
import type { ExportEntryRow, ExportSequenceRow } from '../store/span-store.js';
import { describeLosses, findEntryLosses, findExportLosses, lossesDuring } from './export-losses.js';

const row = (
  service: string,
  stream: string,
  minSeq: number,
  maxSeq: number,
  received: number,
  firstStartMs: number,
  lastStartMs: number,
  entries: [number, number] | null = null,
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
    minEntries: entries?.[0] ?? null,
    maxEntries: entries?.[1] ?? null,
  }) satisfies ExportSequenceRow;

const entry = (entries: number, previousEntries: string[], startMs: number): ExportEntryRow => ({
  service: 'orders',
  stream: 'a',
  entries,
  previousEntries,
  startMs,
});

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

describe('entry spans lost at export', () => {
  it('finds none when only client or internal spans were lost (the entry count runs on unbroken)', () => {
    // seq 1..10 with 2 lost, entries 1..3 all received.
    const rows = [row('orders', 'a', 1, 10, 8, 1_000, 9_000, [1, 3])];
    const entries = [entry(1, [], 1_000), entry(2, ['m1'], 4_000), entry(3, ['m2', 'm1'], 8_000)];
    expect(findExportLosses(rows)).toHaveLength(1);
    expect(findEntryLosses(rows, entries)).toEqual([]);
  });

  it('names a lost delivery by the entry after it, timed by its received neighbours', () => {
    const rows = [row('orders', 'a', 1, 10, 9, 1_000, 9_000, [1, 3])];
    const entries = [entry(1, [], 1_000), entry(3, ['m2', 'm1'], 8_000)];
    expect(findEntryLosses(rows, entries)).toEqual([
      { service: 'orders', stream: 'a', fromMs: 1_000, toMs: 8_000, missing: 1, messageId: 'm2' },
    ]);
  });

  it('names a run of lost deliveries as far back as the entry after it reaches; the last before the stream goes quiet stays unnamed', () => {
    const rows = [row('orders', 'a', 1, 20, 14, 1_000, 9_000, [1, 6]), row('orders', 'a', 21, 30, 9, 10_000, 12_000, [6, 8])];
    // Entries 2..5 lost: entry 6 names 5, 4, 3 (3 back); 2 is beyond its reach. Entry 8 lost after 7.
    const entries = [entry(1, [], 1_000), entry(6, ['m5', 'm4', 'm3'], 6_000), entry(7, ['m6', 'm5', 'm4'], 11_000)];
    const run = { service: 'orders', stream: 'a', fromMs: 1_000, toMs: 6_000, missing: 1 };
    expect(findEntryLosses(rows, entries)).toEqual([
      { ...run, messageId: null },
      { ...run, messageId: 'm3' },
      { ...run, messageId: 'm4' },
      { ...run, messageId: 'm5' },
      { service: 'orders', stream: 'a', fromMs: 11_000, toMs: 12_000, missing: 1, messageId: null },
    ]);
  });

  it('leaves a lost entry unnamed when the entry after it gives no message id for it (a request without message identity)', () => {
    const rows = [row('orders', 'a', 1, 3, 2, 1_000, 3_000, [1, 3])];
    expect(findEntryLosses(rows, [entry(1, [], 1_000), entry(3, ['', 'm1'], 3_000)])).toEqual([
      { service: 'orders', stream: 'a', fromMs: 1_000, toMs: 3_000, missing: 1, messageId: null },
    ]);
  });

  it('reads every loss of a stream that counts no entries as lost entries of unknown messages', () => {
    const rows = [row('billing', 'b', 1, 10, 8, 1_000, 9_000)];
    expect(findEntryLosses(rows, [])).toEqual([
      { service: 'billing', stream: 'b', fromMs: 1_000, toMs: 9_000, missing: 2, messageId: null },
    ]);
  });

  it('ignores entries started before the window’s first span (their neighbours are not read)', () => {
    // The first span in the window carries entries 5: entries up to 5 are not judged.
    const rows = [row('orders', 'a', 40, 42, 3, 1_000, 3_000, [5, 6])];
    expect(findEntryLosses(rows, [entry(6, ['m5', 'm4'], 2_000)])).toEqual([]);
  });
});
