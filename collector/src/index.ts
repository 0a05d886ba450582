export type * from './model/span.js';
export type * from './model/flow.js';
export type * from './store/span-store.js';
