/**
 * How each anomaly kind is marked everywhere (graph, timeline, badges, legend): one table so the
 * legend always matches what is drawn.
 */
import type { AnomalyKind, MessageStatus, Severity } from './types.js';

export interface FlagStyle {
  label: string;
  /** A short tag drawn on graph nodes and badges. */
  tag: string;
  colour: string;
  severity: Severity;
}

export const FLAG_STYLES: Record<AnomalyKind, FlagStyle> = {
  'duplicate-processing': { label: 'Duplicate processing', tag: 'DUP PROCESSED', colour: '#d0252b', severity: 'error' },
  'lost-message': { label: 'Lost message', tag: 'LOST', colour: '#7a1fa2', severity: 'error' },
  'ghost-message': { label: 'Ghost message', tag: 'GHOST', colour: '#8e44ad', severity: 'error' },
  'dead-letter': { label: 'Dead letter', tag: 'DEAD LETTER', colour: '#222222', severity: 'error' },
  'logical-duplicate': { label: 'Logical duplicate', tag: 'LOGICAL DUP', colour: '#c2185b', severity: 'error' },
  'missed-delivery': { label: 'Missed delivery', tag: 'MISSED', colour: '#6a1b9a', severity: 'error' },
  'stuck-outbox': { label: 'Stuck outbox', tag: 'STUCK OUTBOX', colour: '#4a148c', severity: 'error' },
  'inconsistent-output': { label: 'Inconsistent output', tag: 'INCONSISTENT', colour: '#ad1457', severity: 'error' },
  'uncommitted-side-effect': { label: 'Side effect never committed', tag: 'UNCOMMITTED EFFECT', colour: '#b71c1c', severity: 'error' },
  'missing-payload': { label: 'Payload missing (404)', tag: 'MISSING PAYLOAD', colour: '#5d4037', severity: 'error' },
  'premature-publish': { label: 'Published before commit', tag: 'PREMATURE', colour: '#e67e22', severity: 'warning' },
  'out-of-order': { label: 'Out of order', tag: 'OUT OF ORDER', colour: '#a0522d', severity: 'error' },
  'orphaned-payload': { label: 'Orphaned payload', tag: 'ORPHAN BLOB', colour: '#8d6e63', severity: 'warning' },
  retry: { label: 'Retry', tag: 'RETRY', colour: '#d39a00', severity: 'warning' },
  'duplicate-delivery': { label: 'Duplicate delivery (handled)', tag: 'DUP DELIVERY', colour: '#2f80c9', severity: 'info' },
  offload: { label: 'Payload offloaded', tag: 'OFFLOAD', colour: '#178a7a', severity: 'info' },
};

/** Most severe first: the order flags are listed and the first one colours a node's border. */
export const FLAG_ORDER: AnomalyKind[] = [
  'duplicate-processing',
  'lost-message',
  'missed-delivery',
  'stuck-outbox',
  'ghost-message',
  'inconsistent-output',
  'uncommitted-side-effect',
  'missing-payload',
  'dead-letter',
  'logical-duplicate',
  'out-of-order',
  'premature-publish',
  'orphaned-payload',
  'retry',
  'duplicate-delivery',
  'offload',
];

export function sortFlags(flags: readonly AnomalyKind[]): AnomalyKind[] {
  return [...new Set(flags)].sort((a, b) => FLAG_ORDER.indexOf(a) - FLAG_ORDER.indexOf(b));
}

export const STATUS_LABELS: Record<MessageStatus, string> = {
  processed: 'processed',
  'in-flight': 'in flight',
  failing: 'failing',
  'dead-lettered': 'dead-lettered',
  lost: 'lost',
};

export const SEVERITY_COLOURS: Record<Severity, string> = { info: '#2f80c9', warning: '#d39a00', error: '#d0252b' };
