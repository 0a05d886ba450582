/**
 * SpanRow ⇄ ClickHouse JSONEachRow rows. Insert rows are built in one pass with a fixed shape
 * (the insert path is the ingest hot path); UInt64 go as strings, `ts` as unix seconds, Nested
 * columns as parallel arrays. Read rows come back with 64-bit integers as strings.
 */
import type { SpanEvent, SpanKind, SpanLink, SpanRow, StatusCode } from '../../model/span.js';
import { OPERATION_VALUES, OUTCOME_VALUES, SPAN_KINDS, STATUS_CODES } from './schema.js';
import { wellFormed } from './sql-escape.js';

const NS_PER_S = 1_000_000_000n;
const KINDS = new Set<string>(SPAN_KINDS);
const STATUSES = new Set<string>(STATUS_CODES);
const OUTCOMES = new Set<string>(OUTCOME_VALUES);
const OPERATIONS = new Set<string>(OPERATION_VALUES);

/** One JSONEachRow insert row (keys are the flat column names of SPAN_FLAT_COLUMNS). */
export type SpanInsertRow = Record<string, unknown>;

function stringifyAttributes(attributes: Record<string, string>): string {
  return JSON.stringify(attributes);
}

/**
 * The insert row of a span. `row_json` carries the same row (without the insert-time fields)
 * as JSON text, the span as the lookup tables store it; `fromRowJson` reads it back.
 */
export function toInsertRow(span: SpanRow): SpanInsertRow {
  const row = spanColumns(span);
  const json = stringifyInsertRow(row);
  row.first_send_ns = '0';
  row.prev_processed_ns = '0';
  row.row_json = json;
  return row;
}

function spanColumns(span: SpanRow): SpanInsertRow {
  const start = span.startNs < 0n ? 0n : span.startNs;
  const links = span.links;
  const events = span.events;
  return {
    ts: Number(start / NS_PER_S),
    start_ns: start.toString(),
    duration_ns: String(Math.max(0, Math.trunc(span.durationNs))),
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId,
    service: span.service,
    name: span.name,
    kind: KINDS.has(span.kind) ? span.kind : 'internal',
    status_code: STATUSES.has(span.statusCode) ? span.statusCode : 'unset',
    status_message: span.statusMessage,
    message_id: span.messageId,
    conversation_id: span.conversationId,
    causation_id: span.causationId,
    idempotency_key: span.idempotencyKey,
    message_type: span.messageType,
    attempt: Math.max(0, Math.trunc(span.attempt)) >>> 0,
    outcome: OUTCOMES.has(span.outcome) ? span.outcome : '',
    payload_bytes: String(Math.max(0, Math.trunc(span.payloadBytes))),
    payload_offloaded: span.payloadOffloaded ? 1 : 0,
    payload_ref: span.payloadRef,
    destination: span.destination,
    operation: OPERATIONS.has(span.operation) ? span.operation : '',
    messaging_system: span.messagingSystem,
    outgoing_message_ids: span.outgoingMessageIds,
    'links.trace_id': links.map((link) => link.traceId),
    'links.span_id': links.map((link) => link.spanId),
    'links.attributes': links.map((link) => stringifyAttributes(link.attributes)),
    'events.time_ns': events.map((event) => (event.timeNs < 0n ? '0' : event.timeNs.toString())),
    'events.name': events.map((event) => event.name),
    'events.attributes': events.map((event) => stringifyAttributes(event.attributes)),
    'attrs.key': Object.keys(span.attributes),
    'attrs.value': Object.values(span.attributes),
    'resource_attrs.key': Object.keys(span.resourceAttributes),
    'resource_attrs.value': Object.values(span.resourceAttributes),
  };
}

// JSON.stringify writes a lone surrogate as a `\udXXX` escape, which ClickHouse rejects
// (failing the whole batch). Well-formed text never produces one, so one regex test per row
// keeps the common path to a single stringify.
const LONE_SURROGATE_ESCAPE = /\\ud[89a-f][0-9a-f]{2}/i;

function replaceLoneSurrogates(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? wellFormed(value) : value;
}

/** JSON encoder for inserts: lone surrogates become U+FFFD instead of failing the batch. */
export function stringifyInsertRow(row: unknown): string {
  const json = JSON.stringify(row);
  return LONE_SURROGATE_ESCAPE.test(json) ? JSON.stringify(row, replaceLoneSurrogates) : json;
}

/** A row with the flat column names (64-bit integers as strings), as inserted or read back. */
export interface SpanSelectRow {
  [column: string]: unknown;
}

/** A span from its `row_json` column. */
export function fromRowJson(json: string): SpanRow {
  return fromSelectRow(JSON.parse(json) as SpanSelectRow);
}

function zip(keys: unknown, values: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const k = keys as string[];
  const v = values as string[];
  for (let i = 0; i < k.length; i++) out[k[i]] = v[i];
  return out;
}

function parseAttributes(json: string): Record<string, string> {
  try {
    const parsed = JSON.parse(json) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export function fromSelectRow(row: SpanSelectRow): SpanRow {
  const linkTraces = row['links.trace_id'] as string[];
  const linkSpans = row['links.span_id'] as string[];
  const linkAttributes = row['links.attributes'] as string[];
  const links: SpanLink[] = linkTraces.map((traceId, i) => ({
    traceId,
    spanId: linkSpans[i],
    attributes: parseAttributes(linkAttributes[i]),
  }));
  const eventTimes = row['events.time_ns'] as string[];
  const eventNames = row['events.name'] as string[];
  const eventAttributes = row['events.attributes'] as string[];
  const events: SpanEvent[] = eventTimes.map((time, i) => ({
    timeNs: BigInt(time),
    name: eventNames[i],
    attributes: parseAttributes(eventAttributes[i]),
  }));
  return {
    traceId: row.trace_id as string,
    spanId: row.span_id as string,
    parentSpanId: row.parent_span_id as string,
    service: row.service as string,
    name: row.name as string,
    kind: row.kind as SpanKind,
    statusCode: row.status_code as StatusCode,
    statusMessage: row.status_message as string,
    startNs: BigInt(row.start_ns as string),
    durationNs: Number(row.duration_ns),
    messageId: row.message_id as string,
    conversationId: row.conversation_id as string,
    causationId: row.causation_id as string,
    idempotencyKey: row.idempotency_key as string,
    messageType: row.message_type as string,
    attempt: Number(row.attempt),
    outcome: row.outcome as SpanRow['outcome'],
    payloadBytes: Number(row.payload_bytes),
    payloadOffloaded: Number(row.payload_offloaded) === 1,
    payloadRef: row.payload_ref as string,
    destination: row.destination as string,
    operation: row.operation as SpanRow['operation'],
    messagingSystem: row.messaging_system as string,
    outgoingMessageIds: row.outgoing_message_ids as string[],
    links,
    events,
    attributes: zip(row['attrs.key'], row['attrs.value']),
    resourceAttributes: zip(row['resource_attrs.key'], row['resource_attrs.value']),
  };
}
