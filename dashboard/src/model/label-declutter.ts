/**
 * Which edge labels of a graph are drawn: a label is shown only where it covers no node and no
 * label already shown, most important first (the worst health, then the busiest edge). The
 * others are hidden until their edge is hovered or selected, so what is drawn can be read.
 * Pure: boxes in the graph's model coordinates come from the renderer.
 */

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface EdgeLabelBox {
  id: string;
  box: Box;
  /** Higher is placed first. */
  priority: number;
}

/** Boxes that share more than `margin` pixels of area (touching is fine). */
export function boxesOverlap(a: Box, b: Box, margin = 0): boolean {
  return a.x1 < b.x2 - margin && b.x1 < a.x2 - margin && a.y1 < b.y2 - margin && b.y1 < a.y2 - margin;
}

export function pickVisibleLabels(labels: readonly EdgeLabelBox[], obstacles: readonly Box[], margin = 1): Set<string> {
  const shown: Box[] = [];
  const visible = new Set<string>();
  const ordered = [...labels].sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1));
  for (const label of ordered) {
    if (label.box.x2 <= label.box.x1 || label.box.y2 <= label.box.y1) continue;
    if (obstacles.some((box) => boxesOverlap(label.box, box, margin))) continue;
    if (shown.some((box) => boxesOverlap(label.box, box, -2))) continue;
    shown.push(label.box);
    visible.add(label.id);
  }
  return visible;
}
