import { describe, expect, it } from 'vitest';
import { boxesOverlap, pickVisibleLabels, type Box } from './label-declutter.js';

const box = (x1: number, y1: number, x2: number, y2: number): Box => ({ x1, y1, x2, y2 });

describe('pickVisibleLabels', () => {
  //   [node A]--label-->[node B]      the label of a short edge runs into node B: hidden
  //   two labels on top of each other near a hub: the more important one is kept
  it.each([
    {
      name: 'a label in the clear',
      labels: [{ id: 'e1', box: box(100, 0, 160, 12), priority: 1 }],
      nodes: [box(0, -10, 80, 20)],
      visible: ['e1'],
    },
    {
      name: 'a label running into a node',
      labels: [{ id: 'e1', box: box(60, 0, 160, 12), priority: 1 }],
      nodes: [box(0, -10, 80, 20)],
      visible: [],
    },
    {
      name: 'two labels on top of each other',
      labels: [
        { id: 'busy', box: box(100, 0, 160, 12), priority: 5 },
        { id: 'quiet', box: box(120, 6, 180, 18), priority: 1 },
      ],
      nodes: [],
      visible: ['busy'],
    },
    {
      name: 'labels side by side with a small gap',
      labels: [
        { id: 'a', box: box(100, 0, 160, 12), priority: 5 },
        { id: 'b', box: box(162, 0, 222, 12), priority: 1 },
      ],
      nodes: [],
      visible: ['a', 'b'],
    },
    { name: 'an empty label', labels: [{ id: 'e', box: box(10, 10, 10, 10), priority: 9 }], nodes: [], visible: [] },
  ])('$name', ({ labels, nodes, visible }) => {
    expect([...pickVisibleLabels(labels, nodes)].sort()).toEqual(visible);
  });

  it('never shows two overlapping labels, nor a label over a node', () => {
    const labels = Array.from({ length: 60 }, (_, i) => ({
      id: `e${i}`,
      box: box((i * 37) % 300, (i * 13) % 90, ((i * 37) % 300) + 70, ((i * 13) % 90) + 12),
      priority: i % 7,
    }));
    const nodes = [box(0, 0, 60, 30), box(200, 50, 260, 80)];
    const visible = labels.filter((label) => pickVisibleLabels(labels, nodes).has(label.id));
    expect(visible.length).toBeGreaterThan(3);
    for (const a of visible) {
      for (const node of nodes) expect(boxesOverlap(a.box, node, 1)).toBe(false);
      for (const b of visible) if (a !== b) expect(boxesOverlap(a.box, b.box), `${a.id}/${b.id}`).toBe(false);
    }
  });
});
