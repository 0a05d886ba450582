/**
 * SpanRow ⇄ DuckDB row. Writing fills DuckDB data chunks column by column (`appendSpans`);
 * reading turns the JS row objects of a `SELECT SPAN_SELECT` back into exact `SpanRow`s
 * (bigint nanoseconds, arrays and maps intact).
 */
import { BIGINT, BOOLEAN, DuckDBDataChunk, INTEGER, VARCHAR, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { SpanEvent, SpanKind, SpanLink, SpanRow, StatusCode } from '../../model/span.js';
import { SPAN_COLUMNS } from './schema.js';

type SpanColumn = (typeof SPAN_COLUMNS)[number];

/** How one column is read off a span; `encoded` caches the JSON of shared resource maps. */
type ColumnWriter =
  | { type: 'text'; value: (span: SpanRow, encoded: Map<object, string>) => string }
  | { type: 'bigint'; value: (span: SpanRow) => bigint }
  | { type: 'integer'; value: (span: SpanRow) => number }
  | { type: 'boolean'; value: (span: SpanRow) => boolean };

const text = (value: (span: SpanRow, encoded: Map<object, string>) => string): ColumnWriter => ({ type: 'text', value });

const COLUMN_WRITERS: Record<SpanColumn, ColumnWriter> = {
  trace_id: text((s) => s.traceId),
  span_id: text((s) => s.spanId),
  parent_span_id: text((s) => s.parentSpanId),
  service: text((s) => s.service),
  name: text((s) => s.name),
  kind: text((s) => s.kind),
  status_code: text((s) => s.statusCode),
  status_message: text((s) => s.statusMessage),
  start_ns: { type: 'bigint', value: (s) => s.startNs },
  duration_ns: { type: 'bigint', value: (s) => BigInt(Math.max(0, Math.round(s.durationNs))) },
  message_id: text((s) => s.messageId),
  conversation_id: text((s) => s.conversationId),
  causation_id: text((s) => s.causationId),
  idempotency_key: text((s) => s.idempotencyKey),
  message_type: text((s) => s.messageType),
  attempt: { type: 'integer', value: (s) => s.attempt },
  outcome: text((s) => s.outcome),
  payload_bytes: { type: 'bigint', value: (s) => BigInt(Math.round(s.payloadBytes)) },
  payload_offloaded: { type: 'boolean', value: (s) => s.payloadOffloaded },
  payload_ref: text((s) => s.payloadRef),
  destination: text((s) => s.destination),
  operation: text((s) => s.operation),
  messaging_system: text((s) => s.messagingSystem),
  outgoing_message_ids: text((s) => (s.outgoingMessageIds.length === 0 ? '[]' : JSON.stringify(s.outgoingMessageIds))),
  links: text((s) => (s.links.length === 0 ? '[]' : JSON.stringify(s.links))),
  events: text((s) => (s.events.length === 0 ? '[]' : encodeEvents(s.events))),
  attributes: text((s) => JSON.stringify(s.attributes)),
  resource_attributes: text((s, encoded) => encodeShared(s.resourceAttributes, encoded)),
};

const WRITERS = SPAN_COLUMNS.map((column) => COLUMN_WRITERS[column]);
const CHUNK_TYPES: DuckDBType[] = WRITERS.map((w) =>
  w.type === 'text' ? VARCHAR : w.type === 'bigint' ? BIGINT : w.type === 'integer' ? INTEGER : BOOLEAN,
);
/** Created once: building 28 native logical types for every chunk cost ~0.2 ms per batch. */
// The last column is `ingest_seq`, one value per batch.
const CHUNK_LOGICAL_TYPES = [...CHUNK_TYPES, BIGINT].map((type) => type.toLogicalType().logical_type);
const CHUNK_ROWS = duckdb.vector_size();

/**
 * Appends spans as data chunks of up to 2048 rows, filled column by column. Every string still
 * costs one native call (about 0.4 µs, the bulk of the insert CPU), except in a column whose
 * value is the same in every row of the chunk (empty status messages, links and events, one
 * messaging system, …): that column becomes one constant vector. Numbers and booleans are
 * copied from typed arrays in one call per column. The binding passes strings with their byte
 * length, so a NUL inside a string is kept (tested). `ingestSeq` fills the trailing
 * `ingest_seq` column (see `schema.ts`).
 */
export function appendSpans(appender: DuckDBAppender, spans: readonly SpanRow[], ingestSeq: bigint): void {
  const encoded = new Map<object, string>();
  const bigints = new BigInt64Array(CHUNK_ROWS);
  const integers = new Int32Array(CHUNK_ROWS);
  const booleans = new Uint8Array(CHUNK_ROWS);
  const strings: string[] = new Array<string>(CHUNK_ROWS);
  // One chunk per call, reset between its 2048-row slices (a reset turns constant vectors flat again).
  const chunk = new DuckDBDataChunk(duckdb.create_data_chunk(CHUNK_LOGICAL_TYPES));
  for (let start = 0; start < spans.length; start += CHUNK_ROWS) {
    const rows = Math.min(CHUNK_ROWS, spans.length - start);
    if (start > 0) duckdb.data_chunk_reset(chunk.chunk);
    duckdb.data_chunk_set_size(chunk.chunk, rows);
    for (let c = 0; c < WRITERS.length; c++) {
      const writer = WRITERS[c];
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
      switch (writer.type) {
        case 'text': {
          const first = writer.value(spans[start], encoded);
          let constant = rows > 1;
          strings[0] = first;
          for (let r = 1; r < rows; r++) {
            const value = writer.value(spans[start + r], encoded);
            strings[r] = value;
            if (value !== first) constant = false;
          }
          if (constant) duckdb.vector_reference_value(vector, duckdb.create_varchar(first));
          else for (let r = 0; r < rows; r++) duckdb.vector_assign_string_element(vector, r, strings[r]);
          break;
        }
        case 'bigint':
          for (let r = 0; r < rows; r++) {
            const value = writer.value(spans[start + r]);
            // A typed array would wrap silently; the appender refused out-of-range values.
            if (BigInt.asIntN(64, value) !== value) throw new RangeError(`BIGINT out of range: ${value}`);
            bigints[r] = value;
          }
          duckdb.copy_data_to_vector(vector, 0, bigints.buffer, 0, rows * 8);
          break;
        case 'integer':
          for (let r = 0; r < rows; r++) integers[r] = writer.value(spans[start + r]);
          duckdb.copy_data_to_vector(vector, 0, integers.buffer, 0, rows * 4);
          break;
        case 'boolean':
          for (let r = 0; r < rows; r++) booleans[r] = writer.value(spans[start + r]) ? 1 : 0;
          duckdb.copy_data_to_vector(vector, 0, booleans.buffer, 0, rows);
          break;
      }
    }
    // The batch's ingest number: one constant vector per chunk.
    duckdb.vector_reference_value(duckdb.data_chunk_get_vector(chunk.chunk, WRITERS.length), duckdb.create_int64(ingestSeq));
    appender.appendDataChunk(chunk);
  }
}

function encodeShared(value: object, encoded: Map<object, string>): string {
  let text = encoded.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    encoded.set(value, text);
  }
  return text;
}

function encodeEvents(events: SpanEvent[]): string {
  return JSON.stringify(events.map((e) => ({ timeNs: e.timeNs.toString(), name: e.name, attributes: e.attributes })));
}

function decodeEvents(text: string): SpanEvent[] {
  const raw = JSON.parse(text) as { timeNs: string; name: string; attributes: Record<string, string> }[];
  return raw.map((e) => ({ timeNs: BigInt(e.timeNs), name: e.name, attributes: e.attributes }));
}

type RowObject = Record<string, unknown>;

export function spanFromRow(row: RowObject): SpanRow {
  return {
    traceId: row.trace_id as string,
    spanId: row.span_id as string,
    parentSpanId: row.parent_span_id as string,
    service: row.service as string,
    name: row.name as string,
    kind: row.kind as SpanKind,
    statusCode: row.status_code as StatusCode,
    statusMessage: row.status_message as string,
    startNs: row.start_ns as bigint,
    durationNs: Number(row.duration_ns),
    messageId: row.message_id as string,
    conversationId: row.conversation_id as string,
    causationId: row.causation_id as string,
    idempotencyKey: row.idempotency_key as string,
    messageType: row.message_type as string,
    attempt: Number(row.attempt),
    outcome: row.outcome as SpanRow['outcome'],
    payloadBytes: Number(row.payload_bytes),
    payloadOffloaded: row.payload_offloaded as boolean,
    payloadRef: row.payload_ref as string,
    destination: row.destination as string,
    operation: row.operation as SpanRow['operation'],
    messagingSystem: row.messaging_system as string,
    outgoingMessageIds: JSON.parse(row.outgoing_message_ids as string) as string[],
    links: JSON.parse(row.links as string) as SpanLink[],
    events: decodeEvents(row.events as string),
    attributes: JSON.parse(row.attributes as string) as Record<string, string>,
    resourceAttributes: JSON.parse(row.resource_attributes as string) as Record<string, string>,
  };
}

/**
 * Substrings that occur in the stored attributes JSON exactly when some attribute's value
 * equals `value`. `JSON.stringify` escapes every `"` inside a string, so an unescaped `:"`
 * only ever starts a value and an unescaped `"` followed by `,` or `}` only ever ends one.
 * The first needle (the value without its terminator) is a cheap pre-filter: the other two
 * are tested only on the rows that contain it.
 */
export function attributeValueNeedles(value: string): [string, string, string] {
  const quoted = JSON.stringify(value);
  return [`:${quoted}`, `:${quoted},`, `:${quoted}}`];
}
