/**
 * Named handles on the live cytoscape instances (`window.__onceflowCy.map`, `.flow`): read by
 * the end-to-end tests and the benchmark, handy in the console. Kept apart from the graph
 * component so views can use them without loading cytoscape.
 */
import type { Core } from 'cytoscape';

declare global {
  interface Window {
    __onceflowCy?: Record<string, Core>;
  }
}

/**
 * Fits every node into view, at most at `maxZoom`. Computed from node positions and sizes
 * (`data(w)`, `data(h)`) instead of `cy.fit()`, which measures every edge label first and
 * takes a second on a 200-edge map.
 */
export function fitToNodes(cy: Core, padding = 24, maxZoom = 1.2): void {
  const nodes = cy.nodes();
  if (nodes.length === 0) return;
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  nodes.forEach((node) => {
    const { x, y } = node.position();
    const w = Number(node.data('w')) || 40;
    const h = Number(node.data('h')) || 30;
    x1 = Math.min(x1, x - w / 2);
    x2 = Math.max(x2, x + w / 2);
    y1 = Math.min(y1, y - h / 2);
    y2 = Math.max(y2, y + h / 2);
  });
  const width = Math.max(1, cy.width() - 2 * padding);
  const height = Math.max(1, cy.height() - 2 * padding);
  const zoom = Math.min(maxZoom, width / Math.max(1, x2 - x1), height / Math.max(1, y2 - y1));
  cy.viewport({ zoom, pan: { x: cy.width() / 2 - zoom * ((x1 + x2) / 2), y: cy.height() / 2 - zoom * ((y1 + y2) / 2) } });
}

/** Fits the whole graph into view (toolbar button). */
export function fitGraph(name: string): void {
  const cy = window.__onceflowCy?.[name];
  if (cy) fitToNodes(cy);
}
