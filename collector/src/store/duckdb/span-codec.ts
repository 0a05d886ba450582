/**
 * SpanRow ⇄ DuckDB row. Writing goes straight into an appender (one native call per value,
 * in `SPAN_COLUMNS` order); reading turns the JS row objects of a `SELECT SPAN_SELECT` back
 * into exact `SpanRow`s (bigint nanoseconds, arrays and maps intact).
 */
import type { DuckDBAppender } from '@duckdb/node-api';
import type { SpanEvent, SpanKind, SpanLink, SpanRow, StatusCode } from '../../model/span.js';

/**
 * Appends one span. `encoded` caches the JSON of resource attribute objects, which ingest
 * shares between the spans of one resource: one `JSON.stringify` per resource, not per span.
 */
export function appendSpan(appender: DuckDBAppender, span: SpanRow, encoded?: Map<object, string>): void {
  appender.appendVarchar(span.traceId);
  appender.appendVarchar(span.spanId);
  appender.appendVarchar(span.parentSpanId);
  appender.appendVarchar(span.service);
  appender.appendVarchar(span.name);
  appender.appendVarchar(span.kind);
  appender.appendVarchar(span.statusCode);
  appender.appendVarchar(span.statusMessage);
  appender.appendBigInt(span.startNs);
  appender.appendBigInt(BigInt(Math.max(0, Math.round(span.durationNs))));
  appender.appendVarchar(span.messageId);
  appender.appendVarchar(span.conversationId);
  appender.appendVarchar(span.causationId);
  appender.appendVarchar(span.idempotencyKey);
  appender.appendVarchar(span.messageType);
  appender.appendInteger(span.attempt);
  appender.appendVarchar(span.outcome);
  appender.appendBigInt(BigInt(Math.round(span.payloadBytes)));
  appender.appendBoolean(span.payloadOffloaded);
  appender.appendVarchar(span.payloadRef);
  appender.appendVarchar(span.destination);
  appender.appendVarchar(span.operation);
  appender.appendVarchar(span.messagingSystem);
  appender.appendVarchar(span.outgoingMessageIds.length === 0 ? '[]' : JSON.stringify(span.outgoingMessageIds));
  appender.appendVarchar(span.links.length === 0 ? '[]' : JSON.stringify(span.links));
  appender.appendVarchar(span.events.length === 0 ? '[]' : encodeEvents(span.events));
  appender.appendVarchar(JSON.stringify(span.attributes));
  appender.appendVarchar(encodeShared(span.resourceAttributes, encoded));
  appender.endRow();
}

function encodeShared(value: object, encoded: Map<object, string> | undefined): string {
  if (!encoded) return JSON.stringify(value);
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
