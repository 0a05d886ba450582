import { describe, expect, it } from 'vitest';
import { layeredLayout, type LayoutEdge } from './layered-layout.js';

const box = (id: string) => ({ id, width: 80, height: 30 });

describe('layeredLayout', () => {
  it('places a chain left to right along its edges', () => {
    // a → b → c
    const positions = layeredLayout(['a', 'b', 'c'].map(box), [
      { source: 'a', target: 'b' },
      { source: 'b', target: 'c' },
    ]);
    const xs = ['a', 'b', 'c'].map((id) => positions.get(id)!.x);
    expect(xs[0]).toBeLessThan(xs[1]);
    expect(xs[1]).toBeLessThan(xs[2]);
  });

  it('stacks siblings in one rank without overlap', () => {
    // root → x, y, z
    const positions = layeredLayout(
      ['root', 'x', 'y', 'z'].map(box),
      ['x', 'y', 'z'].map((t) => ({ source: 'root', target: t })),
      {
        rankSep: 100,
        nodeSep: 10,
        sweeps: 2,
        aspect: 0,
      },
    );
    const ys = ['x', 'y', 'z'].map((id) => positions.get(id)!.y).sort((a, b) => a - b);
    expect(ys[1] - ys[0]).toBe(40);
    expect(new Set(['x', 'y', 'z'].map((id) => positions.get(id)!.x)).size).toBe(1);
  });

  it('survives cycles and self-loops', () => {
    // a → b → c → a, c → c
    const positions = layeredLayout(['a', 'b', 'c'].map(box), [
      { source: 'a', target: 'b' },
      { source: 'b', target: 'c' },
      { source: 'c', target: 'a' },
      { source: 'c', target: 'c' },
    ]);
    expect(positions.size).toBe(3);
    expect(positions.get('a')!.x).toBeLessThan(positions.get('c')!.x);
  });

  it('breaks a cycle at the edge back upstream when the cycle is entered from a source', () => {
    // s → a → b → a, listed with b first: still s, a, b left to right.
    const positions = layeredLayout(['b', 'a', 's'].map(box), [
      { source: 's', target: 'a' },
      { source: 'a', target: 'b' },
      { source: 'b', target: 'a' },
    ]);
    const [s, a, b] = ['s', 'a', 'b'].map((id) => positions.get(id)!.x);
    expect(s).toBeLessThan(a);
    expect(a).toBeLessThan(b);
  });

  it('gives each node of the 50-service, 200-edge map its own place', () => {
    const nodes = [...Array.from({ length: 50 }, (_, i) => box(`s${i}`)), ...Array.from({ length: 40 }, (_, i) => box(`q${i}`))];
    const edges: LayoutEdge[] = [];
    for (let d = 0; d < 40; d++) {
      edges.push({ source: `s${d % 50}`, target: `q${d}` });
      for (let c = 1; c <= 4; c++) edges.push({ source: `q${d}`, target: `s${(d + c * 11) % 50}` });
    }
    const positions = layeredLayout(nodes, edges);
    expect(positions.size).toBe(90);
    // Every position is distinct: no two nodes drawn on top of each other.
    expect(new Set([...positions.values()].map((p) => `${p.x},${p.y}`)).size).toBe(90);
  });

  it('folds a long chain into bands instead of one thin line', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `n${i}`);
    const edges = ids.slice(1).map((id, i) => ({ source: ids[i], target: id }));
    const folded = layeredLayout(ids.map(box), edges, { rankSep: 60, nodeSep: 20, sweeps: 2, aspect: 1.6 });
    const xs = [...folded.values()].map((p) => p.x);
    const ys = [...folded.values()].map((p) => p.y);
    const width = Math.max(...xs) - Math.min(...xs);
    const height = Math.max(...ys) - Math.min(...ys);
    expect(height).toBeGreaterThan(0);
    expect(width / height).toBeLessThan(4);
    // Within a band the chain still reads left to right.
    expect(folded.get('n0')!.x).toBeLessThan(folded.get('n1')!.x);
    expect(folded.get('n0')!.y).toBe(folded.get('n1')!.y);
  });
});
