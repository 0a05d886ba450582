/**
 * DuckDB schema of the embedded store. Spans keep every `SpanRow` field in a typed column;
 * maps and lists that are only returned (links, events, attributes) are stored as compact JSON
 * text written by `JSON.stringify`, which also makes "any attribute value" searchable with a
 * plain substring test (see `attributeValueNeedles`).
 *
 * Lookups by conversation and message use ART indexes; window queries rely on the zone
 * maps of `start_ns`, which are tight because spans arrive roughly in time order.
 */

import { ROLLUP_STATEMENTS } from './rollup-schema.js';

/** Column order of `spans`: the appender writes values in exactly this order. */
export const SPAN_COLUMNS = [
  'trace_id',
  'span_id',
  'parent_span_id',
  'service',
  'name',
  'kind',
  'status_code',
  'status_message',
  'start_ns',
  'duration_ns',
  'message_id',
  'conversation_id',
  'causation_id',
  'idempotency_key',
  'message_type',
  'attempt',
  'outcome',
  'payload_bytes',
  'payload_offloaded',
  'payload_ref',
  'destination',
  'operation',
  'messaging_system',
  'outgoing_message_ids',
  'links',
  'events',
  'attributes',
  'resource_attributes',
] as const;

export const SPAN_SELECT = SPAN_COLUMNS.join(', ');

/**
 * After the `SpanRow` columns, `spans` has `ingest_seq`: the number of the insert that stored
 * the span, the same for a whole batch (one constant vector per chunk: no per-span cost). The
 * rollup job (`rollup.ts`) aggregates the spans above its watermark.
 */
export const INGEST_SEQ_COLUMN = 'ingest_seq';

export const SCHEMA_STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS spans (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    parent_span_id VARCHAR NOT NULL,
    service VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    status_code VARCHAR NOT NULL,
    status_message VARCHAR NOT NULL,
    start_ns BIGINT NOT NULL,
    duration_ns BIGINT NOT NULL,
    message_id VARCHAR NOT NULL,
    conversation_id VARCHAR NOT NULL,
    causation_id VARCHAR NOT NULL,
    idempotency_key VARCHAR NOT NULL,
    message_type VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    outcome VARCHAR NOT NULL,
    payload_bytes BIGINT NOT NULL,
    payload_offloaded BOOLEAN NOT NULL,
    payload_ref VARCHAR NOT NULL,
    destination VARCHAR NOT NULL,
    operation VARCHAR NOT NULL,
    messaging_system VARCHAR NOT NULL,
    outgoing_message_ids VARCHAR NOT NULL,
    links VARCHAR NOT NULL,
    events VARCHAR NOT NULL,
    attributes VARCHAR NOT NULL,
    resource_attributes VARCHAR NOT NULL,
    ingest_seq BIGINT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
  )`,
  'CREATE INDEX IF NOT EXISTS spans_by_conversation ON spans (conversation_id)',
  'CREATE INDEX IF NOT EXISTS spans_by_message ON spans (message_id)',
  // No trace_id index: only tests fetch whole traces, and every index costs each insert.
  'DROP INDEX IF EXISTS spans_by_trace',
  `CREATE TABLE IF NOT EXISTS flows (
    conversation_id VARCHAR NOT NULL,
    start_ms DOUBLE NOT NULL,
    end_ms DOUBLE NOT NULL,
    duration_ms DOUBLE NOT NULL,
    complete BOOLEAN NOT NULL,
    state VARCHAR NOT NULL,
    services VARCHAR[] NOT NULL,
    message_types VARCHAR[] NOT NULL,
    idempotency_keys VARCHAR[] NOT NULL,
    business_keys VARCHAR[] NOT NULL,
    anomaly_kinds VARCHAR[] NOT NULL,
    analyzed_at_ms DOUBLE NOT NULL,
    summary VARCHAR NOT NULL,
    verdict VARCHAR NOT NULL DEFAULT 'unknown'
  )`,
  // Files written before the ledger: the verdict column is added (their records read as unknown).
  "ALTER TABLE flows ADD COLUMN IF NOT EXISTS verdict VARCHAR DEFAULT 'unknown'",
  'CREATE INDEX IF NOT EXISTS flows_by_conversation ON flows (conversation_id)',
  `CREATE TABLE IF NOT EXISTS anomalies (
    conversation_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL,
    message_type VARCHAR NOT NULL,
    service VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    time_ms DOUBLE NOT NULL,
    endpoint VARCHAR NOT NULL DEFAULT ''
  )`,
  "ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS endpoint VARCHAR DEFAULT ''",
  'CREATE INDEX IF NOT EXISTS anomalies_by_conversation ON anomalies (conversation_id)',
  ...ROLLUP_STATEMENTS,
  'CREATE TABLE IF NOT EXISTS store_migrations (name VARCHAR PRIMARY KEY)',
];

/** Per-connection staging tables of the writer (temporary: never persisted, no constraints). */
export const STAGING_STATEMENTS = [
  'CREATE TEMP TABLE IF NOT EXISTS staging_spans AS SELECT * FROM spans LIMIT 0',
  'CREATE TEMP TABLE IF NOT EXISTS staging_flows AS SELECT * FROM flows LIMIT 0',
  'CREATE TEMP TABLE IF NOT EXISTS staging_anomalies AS SELECT * FROM anomalies LIMIT 0',
];
