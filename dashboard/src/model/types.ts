/**
 * The API's JSON shapes, taken type-only from the collector's model so the dashboard and the
 * server cannot drift apart. Times are epoch milliseconds.
 */
export type * from '../../../collector/src/model/flow.js';
export type { FlowPage } from '../../../collector/src/store/span-store.js';
