/**
 * A cytoscape graph laid out left to right (dagre, or a fast layered layout for big graphs) that updates in place: elements are diffed
 * by id, so a live refresh adds, removes and restyles elements without moving what was
 * already there. Only a change that adds nodes runs the layout, and then existing nodes keep
 * their positions (dagre's `transform`), so the map does not jump during an incident.
 * With `declutterEdgeLabels`, an edge label that would cover a node or a more important label
 * is hidden (class `label-hidden`) until its edge is hovered (class `hover`) or selected.
 */
import cytoscape, { type Core, type StylesheetJson } from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { useEffect, useLayoutEffect, useRef } from 'react';
import { fitToNodes } from './graph-handles.js';
import { pickVisibleLabels } from '../model/label-declutter.js';
import { layeredLayout } from '../model/layered-layout.js';
import { diffElements, elementSignature, type GraphElement } from '../model/topology-elements.js';

cytoscape.use(dagre);

/**
 * Dagre draws small graphs best (long edges routed around nodes) but needs seconds for a
 * 50-service, 200-edge map; above this many elements the fast layered layout takes over.
 */
const DAGRE_MAX_ELEMENTS = 160;

export interface CytoscapeGraphProps {
  /** Name of the debug handle: `window.__onceflowCy[name]`. */
  name: string;
  elements: GraphElement[];
  stylesheet: StylesheetJson;
  selectedId: string | null;
  onSelect: (id: string | null) => void;
  rankSep?: number;
  nodeSep?: number;
  /** Called after each layout with its duration (for the benchmark's time to interactive). */
  onLayout?: (ms: number) => void;
  /** Hide edge labels that would cover a node or a label of higher `labelPriority` (edge data). */
  declutterEdgeLabels?: boolean;
}

/** Label boxes are measured with every label drawn, then the losers are hidden. */
function declutter(cy: Core): void {
  cy.edges().removeClass('label-hidden');
  const labels = cy.edges().map((edge) => ({
    id: edge.id(),
    box: edge.boundingBox({
      includeNodes: false,
      includeEdges: false,
      includeLabels: true,
      includeMainLabels: true,
      includeSourceLabels: false,
      includeTargetLabels: false,
      includeOverlays: false,
    }),
    priority: Number(edge.data('labelPriority') ?? 0),
  }));
  const nodes = cy.nodes().map((node) => node.boundingBox({ includeLabels: false, includeOverlays: false }));
  const visible = pickVisibleLabels(labels, nodes);
  cy.batch(() => cy.edges().forEach((edge) => void (visible.has(edge.id()) || edge.addClass('label-hidden'))));
}

/** Node size from its label so text fits without cytoscape's deprecated `width: label`. */
function sized(element: GraphElement): GraphElement {
  if (element.group !== 'nodes') return element;
  const lines = String(element.data.label ?? '').split('\n');
  const longest = Math.max(...lines.map((line) => line.length));
  return { ...element, data: { ...element.data, w: Math.max(60, longest * 6.6 + 22), h: Math.max(30, lines.length * 14 + 14) } };
}

export function CytoscapeGraph({
  name,
  elements,
  stylesheet,
  selectedId,
  onSelect,
  rankSep = 90,
  nodeSep = 28,
  onLayout,
  declutterEdgeLabels = false,
}: CytoscapeGraphProps) {
  const container = useRef<HTMLDivElement>(null);
  const cyRef = useRef<Core | null>(null);
  const signatures = useRef(new Map<string, string>());
  const onSelectRef = useRef(onSelect);
  useLayoutEffect(() => {
    onSelectRef.current = onSelect;
  });

  useEffect(() => {
    const cy = cytoscape({
      container: container.current,
      style: stylesheet,
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
      selectionType: 'single',
    });
    cyRef.current = cy;
    window.__onceflowCy = { ...window.__onceflowCy, [name]: cy };
    cy.on('tap', (event) => {
      if (event.target === cy) onSelectRef.current(null);
      else onSelectRef.current(event.target.id() as string);
    });
    if (declutterEdgeLabels) {
      cy.on('mouseover', 'edge', (event) => void event.target.addClass('hover'));
      cy.on('mouseout', 'edge', (event) => void event.target.removeClass('hover'));
      cy.on('dragfree', 'node', () => declutter(cy));
    }
    // Side panels open and close beside the graph: keep cytoscape's idea of its size current.
    const observer = new ResizeObserver(() => cy.resize());
    if (container.current) observer.observe(container.current);
    return () => {
      observer.disconnect();
      cy.destroy();
      cyRef.current = null;
      signatures.current = new Map();
      if (window.__onceflowCy?.[name] === cy) delete window.__onceflowCy[name];
    };
    // Created once per graph name: the stylesheet is a module constant, and re-creating the
    // instance would lose every position.
    // eslint-disable-next-line react-hooks/exhaustive-deps -- see the line above
  }, [name]);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    const next = elements.map(sized);
    const diff = diffElements(signatures.current, next);
    if (diff.added.length === 0 && diff.changed.length === 0 && diff.removedIds.length === 0) return;
    const firstLayout = signatures.current.size === 0;
    const started = performance.now();
    const kept = new Map<string, cytoscape.Position>();
    cy.batch(() => {
      for (const id of diff.removedIds) cy.getElementById(id).remove();
      for (const element of diff.changed) {
        const existing = cy.getElementById(element.data.id);
        existing.data(element.data);
        existing.classes(element.classes);
      }
      cy.nodes().forEach((node) => {
        kept.set(node.id(), { ...node.position() });
      });
      // Nodes before edges so every edge finds its ends.
      cy.add(diff.added.filter((e) => e.group === 'nodes'));
      cy.add(diff.added.filter((e) => e.group === 'edges'));
    });
    signatures.current = new Map(next.map((e) => [e.data.id, elementSignature(e)]));
    if (diff.added.some((e) => e.group === 'nodes')) {
      const keep = (id: string, position: cytoscape.Position) => (firstLayout ? position : (kept.get(id) ?? position));
      if (cy.elements().length <= DAGRE_MAX_ELEMENTS) {
        cy.layout({
          name: 'dagre',
          rankDir: 'LR',
          rankSep,
          nodeSep,
          edgeSep: 10,
          fit: false,
          animate: false,
          transform: (node: cytoscape.NodeSingular, position: cytoscape.Position) => keep(node.id(), position),
        } as cytoscape.LayoutOptions).run();
      } else {
        const positions = layeredLayout(
          cy.nodes().map((n) => ({ id: n.id(), width: Number(n.data('w')), height: Number(n.data('h')) })),
          cy.edges().map((e) => ({ source: e.source().id(), target: e.target().id() })),
          { rankSep, nodeSep, sweeps: 6, aspect: 1.6 },
        );
        cy.batch(() => cy.nodes().forEach((n) => void n.position(keep(n.id(), positions.get(n.id())!))));
      }
      if (firstLayout) fitToNodes(cy);
    }
    if (declutterEdgeLabels) declutter(cy);
    // Marks for tests and the benchmark: drawn, and with how many elements.
    container.current?.setAttribute('data-ready', 'true');
    container.current?.setAttribute('data-nodes', String(cy.nodes().length));
    container.current?.setAttribute('data-edges', String(cy.edges().length));
    // Visible in the browser's performance timeline (and read by the benchmark).
    performance.measure(`onceflow:${name}:update`, { start: started, end: performance.now() });
    onLayout?.(performance.now() - started);
  }, [elements, rankSep, nodeSep, onLayout, name, declutterEdgeLabels]);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.$(':selected').unselect();
    if (selectedId) cy.getElementById(selectedId).select();
  }, [selectedId, elements]);

  return <div ref={container} className="graph-canvas" data-graph={name} />;
}
