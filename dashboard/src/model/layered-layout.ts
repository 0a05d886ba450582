/**
 * A fast left-to-right layered layout for graphs too big for dagre (dagre needs seconds for
 * the 50-service, 200-edge map; this needs milliseconds). Sugiyama in its simplest form:
 * break cycles by DFS, rank nodes by longest path from the sources, order each rank by the
 * barycentre of its neighbours for a few sweeps, then stack ranks left to right.
 * Pure: ids and sizes in, positions (centres) out.
 */

export interface LayoutNode {
  id: string;
  width: number;
  height: number;
}

export interface LayoutEdge {
  source: string;
  target: string;
}

export interface LayeredLayoutOptions {
  rankSep: number;
  nodeSep: number;
  sweeps: number;
  /**
   * Wanted width / height of the drawing. A deep graph (a long chain of services) is folded
   * into bands, read left to right and then down like lines of text, instead of becoming a
   * line too thin to see when fitted to the screen. 0 disables folding.
   */
  aspect: number;
}

export const DEFAULT_LAYERED_OPTIONS: LayeredLayoutOptions = { rankSep: 120, nodeSep: 24, sweeps: 6, aspect: 1.6 };

export function layeredLayout(
  nodes: LayoutNode[],
  edges: LayoutEdge[],
  options: LayeredLayoutOptions = DEFAULT_LAYERED_OPTIONS,
): Map<string, { x: number; y: number }> {
  const ids = new Set(nodes.map((n) => n.id));
  const out = new Map<string, string[]>();
  for (const node of nodes) out.set(node.id, []);
  for (const edge of edges) {
    if (edge.source !== edge.target && ids.has(edge.source) && ids.has(edge.target)) out.get(edge.source)!.push(edge.target);
  }

  // 1. Cycle breaking: DFS (iterative), dropping edges back to a node on the stack. Searching
  //    from the sources first (nodes no edge enters) drops the edges that lead back upstream,
  //    so the ranks follow the flow from where it starts.
  const entered = new Set<string>();
  for (const [source, targets] of out) for (const t of targets) if (t !== source) entered.add(t);
  const roots = [...nodes.filter((n) => !entered.has(n.id)), ...nodes.filter((n) => entered.has(n.id))];
  const state = new Map<string, 0 | 1 | 2>();
  const dag = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const root of roots) {
    if (state.get(root.id)) continue;
    const stack: [string, number][] = [[root.id, 0]];
    state.set(root.id, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const next = out.get(top[0])![top[1]++];
      if (next === undefined) {
        state.set(top[0], 2);
        stack.pop();
      } else if (state.get(next) !== 1) {
        dag.get(top[0])!.push(next);
        if (!state.get(next)) {
          state.set(next, 1);
          stack.push([next, 0]);
        }
      }
    }
  }

  // 2. Ranks: longest path from the sources, in topological order (Kahn).
  const indegree = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  for (const targets of dag.values()) for (const t of targets) indegree.set(t, indegree.get(t)! + 1);
  const rank = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  const queue = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    for (const t of dag.get(id)!) {
      rank.set(t, Math.max(rank.get(t)!, rank.get(id)! + 1));
      indegree.set(t, indegree.get(t)! - 1);
      if (indegree.get(t) === 0) queue.push(t);
    }
  }

  // 3. Order within ranks by neighbour barycentres, sweeping right then left.
  const rankCount = Math.max(0, ...rank.values()) + 1;
  const layers: string[][] = Array.from({ length: rankCount }, () => []);
  for (const node of nodes) layers[rank.get(node.id)!].push(node.id);
  const preds = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const [source, targets] of dag) for (const t of targets) preds.get(t)!.push(source);
  const position = new Map<string, number>();
  const index = () => layers.forEach((layer) => layer.forEach((id, i) => position.set(id, i)));
  index();
  const reorder = (layer: string[], neighbours: (id: string) => string[]) => {
    const key = new Map<string, number>();
    for (const id of layer) {
      const ns = neighbours(id);
      key.set(id, ns.length ? ns.reduce((sum, n) => sum + position.get(n)!, 0) / ns.length : position.get(id)!);
    }
    layer.sort((a, b) => key.get(a)! - key.get(b)!);
    layer.forEach((id, i) => position.set(id, i));
  };
  for (let sweep = 0; sweep < options.sweeps; sweep++) {
    if (sweep % 2 === 0) for (let r = 1; r < rankCount; r++) reorder(layers[r], (id) => preds.get(id)!);
    else for (let r = rankCount - 2; r >= 0; r--) reorder(layers[r], (id) => dag.get(id)!);
  }

  // 4. Coordinates: ranks left to right, each rank's nodes stacked and centred vertically;
  //    ranks folded into bands when the drawing would be far wider than `aspect`.
  const size = new Map(nodes.map((n) => [n.id, n]));
  const widths = layers.map((layer) => Math.max(0, ...layer.map((id) => size.get(id)!.width)));
  const heights = layers.map(
    (layer) => layer.reduce((sum, id) => sum + size.get(id)!.height, 0) + options.nodeSep * Math.max(0, layer.length - 1),
  );
  const totalWidth = widths.reduce((sum, w) => sum + w + options.rankSep, 0);
  const bandHeight = Math.max(1, ...heights) + options.rankSep;
  const bands =
    options.aspect > 0 ? Math.max(1, Math.min(rankCount, Math.floor(Math.sqrt(totalWidth / (bandHeight * options.aspect))))) : 1;
  const ranksPerBand = Math.ceil(rankCount / bands);
  const positions = new Map<string, { x: number; y: number }>();
  let x = 0;
  layers.forEach((layer, r) => {
    if (r % ranksPerBand === 0) x = 0;
    const bandY = Math.floor(r / ranksPerBand) * bandHeight;
    let y = bandY - heights[r] / 2;
    for (const id of layer) {
      const { height } = size.get(id)!;
      positions.set(id, { x: x + widths[r] / 2, y: y + height / 2 });
      y += height + options.nodeSep;
    }
    x += widths[r] + options.rankSep;
  });
  return positions;
}
