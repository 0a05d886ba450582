/**
 * The collector's published API contract (`@onceflow/collector/contract`): the JSON shapes of
 * every REST endpoint and live event (docs/api.md) as zod schemas, the TypeScript types inferred
 * from them, and the constant lists both sides share. The collector's analysis produces these
 * types; the dashboard validates every response with these schemas. Browser-safe and small: it
 * imports `zod/mini` (tree-shakable, so the dashboard bundle stays light) and the
 * instrumentation's semantic conventions only — no Node module, no store, no server.
 */
export * from './anomalies.js';
export * from './coverage.js';
export * from './errors.js';
export * from './flow-detail.js';
export * from './flows.js';
export * from './health.js';
export * from './live.js';
export * from './messages.js';
export * from './storms.js';
export * from './time-window.js';
export * from './topology.js';
export * from './trends.js';
