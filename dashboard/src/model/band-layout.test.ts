import { describe, expect, it } from 'vitest';
import { layoutBandLabels, sliceOverlappingBands, truncateToWidth, type BandSpan, type LabelLayoutOptions } from './band-layout.js';

/** Every character is 6 px wide. */
const measure = (text: string) => text.length * 6;
const options: LabelLayoutOptions = { plotLeft: 50, plotRight: 650, maxLanes: 3, maxWidth: 130, padding: 10, gap: 4, maxShift: 0, measure };

const band = (id: string, left: number, text = id, right = left + 10): BandSpan => ({ id, left, right, text });

function overlaps(a: { x: number; width: number; lane: number }, b: { x: number; width: number; lane: number }) {
  return a.lane === b.lane && a.x < b.x + b.width && b.x < a.x + a.width;
}

describe('layoutBandLabels', () => {
  it('puts labels of bands far apart in the first lane, at their bands', () => {
    const { placed, hidden } = layoutBandLabels([band('a', 100), band('b', 400)], options);
    expect(placed.map((p) => [p.id, p.x, p.lane])).toEqual([
      ['a', 100, 0],
      ['b', 400, 0],
    ]);
    expect(hidden).toEqual([]);
  });

  it('stacks the labels of close bands in lanes, and hides those that find no lane', () => {
    //  bands at   100 105 110 115   (each label 10 + 6 × 4 = 34 px wide)
    //  lane 2         ┌──c──┐
    //  lane 1     ┌──b──┐
    //  lane 0  ┌──a──┐          → d has no room left
    const { placed, hidden } = layoutBandLabels(
      [band('a', 100, 'aaaa'), band('b', 105, 'bbbb'), band('c', 110, 'cccc'), band('d', 115, 'dddd')],
      options,
    );
    expect(placed.map((p) => [p.id, p.lane])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ]);
    expect(hidden).toEqual(['d']);
  });

  it('moves a label right, after the lane that frees first, when every lane is taken at its band', () => {
    //  bands at   100 105 110 115; d goes after a in lane 0, with a leader back to 115
    const { placed, hidden } = layoutBandLabels(
      [band('a', 100, 'aaaa'), band('b', 105, 'bbbb'), band('c', 110, 'cccc'), band('d', 115, 'dddd')],
      { ...options, maxShift: 50 },
    );
    expect(placed.find((p) => p.id === 'd')).toEqual({ id: 'd', text: 'dddd', x: 138, width: 34, lane: 0, anchor: 115 });
    expect(hidden).toEqual([]);
  });

  it('moves a label left of its band when the right edge leaves no room', () => {
    // One lane, a near the right edge; b's band is right of a but b's label fits only before a.
    const { placed } = layoutBandLabels([band('a', 600, 'aaaa'), band('b', 610, 'bbbb')], { ...options, maxLanes: 1, maxShift: 100 });
    expect(placed.map((p) => [p.id, p.x, p.anchor])).toEqual([
      ['a', 600, 600],
      ['b', 600 - 4 - 34, 610],
    ]);
  });

  it('falls back to the short text when the full one has no room', () => {
    // One lane; near the right edge c's full text (94 px) cannot start left of a's end, so it
    // gets its rank.
    const { placed } = layoutBandLabels([band('a', 520, 'aaaaaa'), { ...band('c', 600, 'cccccccccccccc'), shortText: '#3' }], {
      ...options,
      maxLanes: 1,
      maxShift: 50,
    });
    expect(placed.map((p) => [p.id, p.text, p.x])).toEqual([
      ['a', 'aaaaaa', 520],
      ['c', '#3', 600],
    ]);
  });

  it.each([0, 60, 400])('never lets two placed labels overlap, whatever the bands (shift %i px)', (maxShift) => {
    const bands = Array.from({ length: 40 }, (_, i) => band(`s${i}`, 50 + ((i * 137) % 600), `storm number ${i} of many`));
    const { placed, hidden } = layoutBandLabels(bands, { ...options, maxShift });
    expect(placed.length + hidden.length).toBe(40);
    for (const a of placed) {
      expect(a.x).toBeGreaterThanOrEqual(options.plotLeft);
      expect(a.x + a.width).toBeLessThanOrEqual(options.plotRight);
      expect(a.width).toBeLessThanOrEqual(options.maxWidth);
      for (const b of placed) if (a !== b) expect(overlaps(a, b), `${a.id} / ${b.id}`).toBe(false);
    }
  });

  it('keeps a label at the right edge inside the plot', () => {
    const [label] = layoutBandLabels([band('late', 640, 'late storm')], options).placed;
    expect(label.x + label.width).toBe(options.plotRight);
  });

  it('cuts long text to the maximum width with an ellipsis', () => {
    const [label] = layoutBandLabels([band('a', 100, 'duplicate delivery · VeryLongMessageTypeName')], options).placed;
    expect(label.text.endsWith('…')).toBe(true);
    expect(label.width).toBeLessThanOrEqual(130);
  });
});

describe('truncateToWidth', () => {
  it.each([
    ['fits', 60, 'fits'],
    ['abcdefghij', 36, 'abcde…'],
    ['ab  cdefgh', 30, 'ab…'],
    ['anything', 0, '…'],
  ])('%s in %i px → %s', (text, width, expected) => {
    expect(truncateToWidth(text, width, measure)).toBe(expected);
  });
});

describe('sliceOverlappingBands', () => {
  it('gives overlapping bands their own slice of the height, and lone bands the whole of it', () => {
    //  a ████████
    //  b    ██████████
    //  c              ███      (overlaps b only)
    //  d                     ██ (alone)
    const slices = sliceOverlappingBands([
      { id: 'a', left: 0, right: 80 },
      { id: 'b', left: 30, right: 130 },
      { id: 'c', left: 120, right: 150 },
      { id: 'd', left: 200, right: 220 },
    ]);
    expect(Object.fromEntries(slices)).toEqual({
      a: { slice: 0, slices: 2 },
      b: { slice: 1, slices: 2 },
      c: { slice: 0, slices: 2 },
      d: { slice: 0, slices: 1 },
    });
  });

  it('treats bands that only touch as not overlapping', () => {
    const slices = sliceOverlappingBands([
      { id: 'a', left: 0, right: 10 },
      { id: 'b', left: 10, right: 20 },
    ]);
    expect([...slices.values()]).toEqual([
      { slice: 0, slices: 1 },
      { slice: 0, slices: 1 },
    ]);
  });
});
