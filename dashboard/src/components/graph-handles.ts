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

/** Fits the whole graph into view (toolbar button). */
export function fitGraph(name: string): void {
  window.__onceflowCy?.[name]?.fit(undefined, 24);
}
