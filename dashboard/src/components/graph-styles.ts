/** Cytoscape stylesheets for the system map and the causation graph (colours from the model). */
import type { StylesheetJson } from 'cytoscape';
import { FLAG_ORDER, FLAG_STYLES } from '../model/anomaly-style.js';

const FONT = '"Inter", "Segoe UI", system-ui, sans-serif';

const base: StylesheetJson = [
  {
    selector: 'node',
    style: {
      label: 'data(label)',
      'font-family': FONT,
      'font-size': 11,
      'text-wrap': 'wrap',
      'text-valign': 'center',
      'text-halign': 'center',
      color: '#1c2430',
      width: 'data(w)',
      height: 'data(h)',
      shape: 'round-rectangle',
      'background-color': '#ffffff',
      'border-width': 1.5,
      'border-color': '#7d8a9c',
    },
  },
  {
    selector: 'edge',
    style: {
      'curve-style': 'bezier',
      'target-arrow-shape': 'triangle',
      'arrow-scale': 0.9,
      'font-family': FONT,
      'font-size': 9,
      color: '#333',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.85,
      'text-background-padding': '2px',
    },
  },
  { selector: 'node:selected', style: { 'overlay-color': '#1f6feb', 'overlay-opacity': 0.12, 'overlay-padding': 6 } },
  { selector: 'edge:selected', style: { 'overlay-color': '#1f6feb', 'overlay-opacity': 0.2, 'overlay-padding': 4 } },
];

export const MAP_STYLE: StylesheetJson = [
  ...base,
  {
    selector: 'node.service',
    style: { 'background-color': '#f4f7fb', 'border-color': '#3d4b5f', 'border-width': 2, 'font-weight': 'bold' },
  },
  { selector: 'node.destination', style: { shape: 'barrel', 'background-color': '#fff8e6', 'border-color': '#b08a2e' } },
  {
    selector: 'node.http-peer',
    style: { shape: 'cut-rectangle', 'background-color': '#f3f0fa', 'border-color': '#6a5a9c', 'border-style': 'dashed' },
  },
  {
    selector: 'edge',
    // Labels too small to read when zoomed out are skipped: legible, and cheaper to draw.
    style: {
      width: 'data(width)',
      'line-color': 'data(colour)',
      'target-arrow-color': 'data(colour)',
      label: 'data(label)',
      'min-zoomed-font-size': 6,
    },
  },
  { selector: 'edge.http', style: { 'line-style': 'dashed' } },
  // Inferred broker routing (topic/exchange → subscriber queue): dotted, labelled with its message types.
  {
    selector: 'edge.route',
    style: { 'line-style': 'dashed', 'line-dash-pattern': [2, 3], 'arrow-scale': 0.7, 'font-style': 'italic', color: '#5b6575' },
  },
  // A label that would cover a node or a more important label waits for hover or selection,
  // which show every figure of the edge above everything else.
  { selector: 'edge.label-hidden', style: { label: '' } },
  {
    selector: 'edge.hover, edge:selected',
    style: {
      label: 'data(detail)',
      'z-compound-depth': 'top',
      'font-size': 10,
      color: '#111',
      'text-background-opacity': 1,
      'text-border-width': 1,
      'text-border-color': '#9aa5b4',
      'text-border-opacity': 1,
      'min-zoomed-font-size': 0,
    },
  },
];

/** Later selectors win: flags are listed least severe first so the worst one shows. */
const flagStyles: StylesheetJson = [...FLAG_ORDER].reverse().map((flag) => ({
  selector: `node.flag-${flag}`,
  style: { 'border-color': FLAG_STYLES[flag].colour, 'border-width': 3 },
}));

export const FLOW_STYLE: StylesheetJson = [
  ...base,
  { selector: 'edge', style: { width: 1.5, 'line-color': '#8a96a8', 'target-arrow-color': '#8a96a8', label: 'data(label)' } },
  { selector: 'edge.http', style: { 'line-style': 'dashed' } },
  { selector: 'node.http', style: { shape: 'cut-rectangle', 'background-color': '#f3f0fa', 'border-color': '#6a5a9c' } },
  { selector: 'node.group', style: { 'background-color': '#eef2f6', 'border-style': 'double', 'border-width': 4 } },
  { selector: 'node.type', style: { 'background-color': '#eef2f6' } },
  { selector: 'node.status-in-flight', style: { 'border-style': 'dashed' } },
  { selector: 'node.status-failing', style: { 'background-color': '#fff3df' } },
  ...flagStyles,
  { selector: 'node.flag-offload', style: { 'background-color': '#e6f5f2' } },
  { selector: 'node.flag-retry', style: { 'background-color': '#fff6dc' } },
  { selector: 'node.flag-ghost-message', style: { 'border-style': 'dotted', 'background-color': '#f5ecfa' } },
  { selector: 'node.flag-duplicate-processing', style: { 'background-color': '#fde4e4', 'border-width': 4 } },
  { selector: 'node.flag-dead-letter', style: { 'background-color': '#2b2b2b', color: '#ffffff' } },
  { selector: 'node.status-lost', style: { 'border-style': 'dashed', 'background-color': '#f1e6f7', 'border-width': 4 } },
];
