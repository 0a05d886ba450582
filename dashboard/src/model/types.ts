/**
 * The API's JSON shapes for the dashboard's modules: the types of the collector's published
 * contract (`@onceflow/collector/contract`), so the dashboard and the server cannot drift apart.
 * Times are epoch milliseconds.
 */
export type * from '@onceflow/collector/contract';
