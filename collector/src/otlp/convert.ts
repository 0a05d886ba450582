/**
 * OTLP → span model. Validates every span of a decoded ExportTraceServiceRequest and turns
 * the valid ones into `SpanRow`s, lifting Onceflow's identity attributes into columns, then
 * completing identity from other instrumentations' tags (`derive-identity.ts`).
 * Invalid spans (bad ids, absurd timestamps) are rejected and counted, never thrown: the
 * receiver reports them in `partialSuccess`. `validateExportRequest` makes the same
 * decision without building rows, for a request whose rows are built later (from the ingest
 * log). Pure: the clock is passed in.
 */
import {
  ATTR_ATTEMPT,
  ATTR_CAUSATION_ID,
  ATTR_IDEMPOTENCY_KEY,
  ATTR_MESSAGE_TYPE,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_LEGACY,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_OUTCOME,
  ATTR_OUTGOING_MESSAGE_IDS,
  ATTR_PAYLOAD_BYTES,
  ATTR_PAYLOAD_OFFLOADED,
  ATTR_PAYLOAD_REF,
  ATTR_SERVICE_NAME,
  OUTCOMES,
} from '@onceflow/instrumentation/semconv';
import type { MessagingOperation, Outcome } from '@onceflow/instrumentation/semconv';
import type { SpanEvent, SpanKind, SpanLink, SpanRow, StatusCode } from '../model/span.js';
import { FRAMEWORK_ATTRIBUTES, MESSAGING_OPERATIONS } from './framework-attributes.js';
import { completeIdentity, FrameworkValues } from './derive-identity.js';
import type { IngestLimits } from './limits.js';
import type { OtlpEvent, OtlpExportRequest, OtlpKeyValue, OtlpLink, OtlpResourceSpans, OtlpSpan } from './types.js';
import {
  anyValueToBool,
  anyValueToInt,
  anyValueToString,
  anyValueToStringList,
  asLong,
  attributesToRecord,
  idState,
  idToHex,
  toUint64,
  truncate,
} from './values.js';

/** Which spans of a request pass validation. */
export interface ValidationResult {
  /** Spans that pass (the ones converted into rows). */
  accepted: number;
  /** Spans present in the request but not converted. */
  rejected: number;
  /** Human-readable reasons, at most `MAX_REASONS` of them (empty when nothing was rejected). */
  reasons: string[];
}

export interface ConversionResult extends ValidationResult {
  /** One row per accepted span, in request order. */
  spans: SpanRow[];
}

const MAX_REASONS = 5;
export const UNKNOWN_SERVICE = 'unknown_service';

const SPAN_KINDS: readonly SpanKind[] = ['internal', 'internal', 'server', 'client', 'producer', 'consumer'];
const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODES: readonly StatusCode[] = ['unset', 'ok', 'error'];
const STATUS_CODE_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

const OUTCOME_SET: ReadonlySet<string> = new Set(OUTCOMES);

/** Attribute key → the column it fills. One hash lookup per attribute instead of a string switch. */
const enum Lift {
  MessageId,
  ConversationId,
  CausationId,
  IdempotencyKey,
  MessageType,
  PayloadRef,
  Destination,
  MessagingSystem,
  Attempt,
  PayloadBytes,
  PayloadOffloaded,
  Outcome,
  Operation,
  LegacyOperation,
  OutgoingMessageIds,
  /** Another instrumentation's identity tag (`framework-attributes.ts`): kept, and a fallback for its column. */
  Framework,
}
const LIFTED = new Map<string, Lift>([
  [ATTR_MESSAGING_MESSAGE_ID, Lift.MessageId],
  [ATTR_MESSAGING_CONVERSATION_ID, Lift.ConversationId],
  [ATTR_CAUSATION_ID, Lift.CausationId],
  [ATTR_IDEMPOTENCY_KEY, Lift.IdempotencyKey],
  [ATTR_MESSAGE_TYPE, Lift.MessageType],
  [ATTR_PAYLOAD_REF, Lift.PayloadRef],
  [ATTR_MESSAGING_DESTINATION_NAME, Lift.Destination],
  [ATTR_MESSAGING_SYSTEM, Lift.MessagingSystem],
  [ATTR_ATTEMPT, Lift.Attempt],
  [ATTR_PAYLOAD_BYTES, Lift.PayloadBytes],
  [ATTR_PAYLOAD_OFFLOADED, Lift.PayloadOffloaded],
  [ATTR_OUTCOME, Lift.Outcome],
  [ATTR_MESSAGING_OPERATION_TYPE, Lift.Operation],
  [ATTR_MESSAGING_OPERATION_LEGACY, Lift.LegacyOperation],
  [ATTR_OUTGOING_MESSAGE_IDS, Lift.OutgoingMessageIds],
  ...FRAMEWORK_ATTRIBUTES.map((entry) => [entry.key, Lift.Framework] as const),
]);

/** Converts every span of the request; `nowMs` bounds how far in the future a span may start. */
export function convertExportRequest(request: OtlpExportRequest, limits: IngestLimits, nowMs: number): ConversionResult {
  const bounds = timeBounds(limits, nowMs);
  const result: ConversionResult = { spans: [], accepted: 0, rejected: 0, reasons: [] };
  forEachSpan(request, result, (rs) => {
    const resourceAttributes = attributesToRecord(rs.resource?.attributes, limits);
    const service = resourceAttributes[ATTR_SERVICE_NAME] || UNKNOWN_SERVICE;
    return (span) => {
      const converted = convertSpan(span, service, resourceAttributes, limits, bounds);
      if (typeof converted === 'string') return converted;
      result.spans.push(converted);
      return null;
    };
  });
  return result;
}

/**
 * The decision `convertExportRequest` makes — which spans are accepted, which rejected and
 * why — without building rows: what the receiver needs to answer when the rows are built later
 * from the ingest log. A span is accepted here exactly when the converter accepts it; the
 * reasons for a rejection come from the converter itself.
 */
export function validateExportRequest(request: OtlpExportRequest, limits: IngestLimits, nowMs: number): ValidationResult {
  const bounds = timeBounds(limits, nowMs);
  const result: ValidationResult = { accepted: 0, rejected: 0, reasons: [] };
  const rejection = (span: OtlpSpan | null | undefined) => {
    if (spanPasses(span, limits, bounds)) return null;
    const converted = convertSpan(span, '', {}, limits, bounds);
    return typeof converted === 'string' ? converted : null;
  };
  forEachSpan(request, result, () => rejection);
  return result;
}

/** How many spans the request holds, valid or not. */
export function countSpans(request: OtlpExportRequest): number {
  let count = 0;
  for (const rs of Array.isArray(request.resourceSpans) ? request.resourceSpans : []) {
    for (const ss of rs && Array.isArray(rs.scopeSpans) ? rs.scopeSpans : []) count += ss && Array.isArray(ss.spans) ? ss.spans.length : 0;
  }
  return count;
}

/**
 * Calls `take` on every span of the request (made once per resource by `forResource`) and
 * counts what it returns: null for an accepted span, the reason for a rejected one.
 */
function forEachSpan(
  request: OtlpExportRequest,
  result: ValidationResult,
  forResource: (rs: OtlpResourceSpans) => (span: OtlpSpan | null | undefined) => string | null,
): void {
  const resourceSpans = Array.isArray(request.resourceSpans) ? request.resourceSpans : [];
  for (const rs of resourceSpans) {
    if (!rs) continue;
    const take = forResource(rs);
    const scopeSpans = Array.isArray(rs.scopeSpans) ? rs.scopeSpans : [];
    for (const ss of scopeSpans) {
      const spans = ss && Array.isArray(ss.spans) ? ss.spans : [];
      for (const span of spans) {
        const rejection = take(span);
        if (rejection === null) {
          result.accepted++;
        } else {
          result.rejected++;
          if (result.reasons.length < MAX_REASONS) result.reasons.push(rejection);
        }
      }
    }
  }
}

/** The `partialSuccess.errorMessage` for a request that had spans rejected. */
export function describeRejections(result: ValidationResult): string {
  const total = result.accepted + result.rejected;
  const more = result.rejected - result.reasons.length;
  return `${result.rejected} of ${total} spans rejected: ${result.reasons.join('; ')}` + (more > 0 ? `; and ${more} more` : '');
}

interface TimeBounds {
  minNs: bigint;
  maxNs: bigint;
  /** The same bounds as unsigned 64-bit words (clamped to 0 … 2^64 − 1), to compare protobuf Longs without BigInt. */
  min: Words;
  max: Words;
}

interface Words {
  high: number;
  low: number;
}

function timeBounds(limits: IngestLimits, nowMs: number): TimeBounds {
  const minNs = BigInt(Math.trunc(limits.minStartMs)) * 1_000_000n;
  const maxNs = BigInt(Math.trunc(nowMs + limits.maxFutureSkewMs)) * 1_000_000n;
  return { minNs, maxNs, min: words(minNs), max: words(maxNs) };
}

function words(ns: bigint): Words {
  const clamped = ns < 0n ? 0n : ns > 0xffffffffffffffffn ? 0xffffffffffffffffn : ns;
  return { high: Number(clamped >> 32n), low: Number(clamped & 0xffffffffn) };
}

/**
 * `checkTimes` finds nothing wrong with these two times: for protobuf Longs (what every
 * protobuf request has) the same comparisons on 32-bit words, without making BigInts.
 */
function timesPass(start: OtlpSpan['startTimeUnixNano'], end: OtlpSpan['endTimeUnixNano'], bounds: TimeBounds): boolean {
  const startLong = asLong(start);
  const endLong = asLong(end);
  if (!startLong || !endLong) return checkTimes(toUint64(start), toUint64(end), bounds) === null;
  // Unsigned words, as toUint64 reads them.
  const sh = startLong.high >>> 0;
  const sl = startLong.low >>> 0;
  const eh = endLong.high >>> 0;
  const el = endLong.low >>> 0;
  if ((sh === 0 && sl === 0) || (eh === 0 && el === 0)) return false;
  if (sh < bounds.min.high || (sh === bounds.min.high && sl < bounds.min.low)) return false;
  if (sh > bounds.max.high || (sh === bounds.max.high && sl > bounds.max.low)) return false;
  if (eh > bounds.max.high || (eh === bounds.max.high && el > bounds.max.low)) return false;
  return eh > sh || (eh === sh && el >= sl);
}

/**
 * True when `convertSpan` accepts the span: the checks it makes (ids, times, links), without
 * the hex text, rows or messages. Anything it does not pass goes to `convertSpan` for the reason.
 */
function spanPasses(span: OtlpSpan | null | undefined, limits: IngestLimits, bounds: TimeBounds): boolean {
  if (!span || typeof span !== 'object') return false;
  if (idState(span.traceId, 16) !== 'valid' || idState(span.spanId, 8) !== 'valid') return false;
  if (idState(span.parentSpanId, 8) === 'invalid') return false;
  if (!timesPass(span.startTimeUnixNano, span.endTimeUnixNano, bounds)) return false;
  if (Array.isArray(span.links)) {
    const count = Math.min(span.links.length, limits.maxLinksPerSpan);
    for (let i = 0; i < count; i++) {
      const link = span.links[i];
      if (!link || typeof link !== 'object' || idState(link.traceId, 16) !== 'valid' || idState(link.spanId, 8) !== 'valid') return false;
    }
  }
  return true;
}

/**
 * One span → row, or a string saying why it is rejected. Rows of the same resource share
 * one `resourceAttributes` object: treat rows as immutable.
 */
export function convertSpan(
  span: OtlpSpan | null | undefined,
  service: string,
  resourceAttributes: Record<string, string>,
  limits: IngestLimits,
  bounds: TimeBounds,
): SpanRow | string {
  if (!span || typeof span !== 'object') return 'span is not an object';
  const traceId = idToHex(span.traceId, 16, 'traceId');
  const spanId = idToHex(span.spanId, 8, 'spanId');
  const where = `span ${typeof spanId === 'string' ? spanId : '?'} of trace ${typeof traceId === 'string' ? traceId : '?'}`;
  if (traceId === null) return `${where}: traceId is missing`;
  if (typeof traceId !== 'string') return `${where}: ${traceId.error}`;
  if (spanId === null) return `${where}: spanId is missing`;
  if (typeof spanId !== 'string') return `${where}: ${spanId.error}`;
  const parent = idToHex(span.parentSpanId, 8, 'parentSpanId');
  if (parent !== null && typeof parent !== 'string') return `${where}: ${parent.error}`;

  const startNs = toUint64(span.startTimeUnixNano);
  const endNs = toUint64(span.endTimeUnixNano);
  const timeError = checkTimes(startNs, endNs, bounds);
  if (timeError) return `${where}: ${timeError}`;

  const links: SpanLink[] = [];
  if (Array.isArray(span.links)) {
    const count = Math.min(span.links.length, limits.maxLinksPerSpan);
    for (let i = 0; i < count; i++) {
      const link = convertLink(span.links[i], limits);
      if (typeof link === 'string') return `${where}: link ${i}: ${link}`;
      links.push(link);
    }
  }

  const row: SpanRow = {
    traceId,
    spanId,
    parentSpanId: parent ?? '',
    service,
    name: truncate(typeof span.name === 'string' ? span.name : String(span.name ?? ''), limits.maxNameLength),
    kind: SPAN_KINDS[enumValue(span.kind, SPAN_KIND_NAMES)] ?? 'internal',
    statusCode: STATUS_CODES[enumValue(span.status?.code, STATUS_CODE_NAMES)] ?? 'unset',
    statusMessage: truncate(String(span.status?.message ?? ''), limits.maxAttributeValueLength),
    startNs: startNs!,
    durationNs: Number(endNs! - startNs!),
    messageId: '',
    conversationId: '',
    causationId: '',
    idempotencyKey: '',
    messageType: '',
    attempt: 0,
    outcome: '',
    payloadBytes: 0,
    payloadOffloaded: false,
    payloadRef: '',
    destination: '',
    operation: '',
    messagingSystem: '',
    outgoingMessageIds: [],
    links,
    events: convertEvents(span.events, startNs!, limits),
    attributes: {},
    resourceAttributes,
  };
  completeIdentity(row, liftAttributes(row, span.attributes, limits));
  return row;
}

function checkTimes(startNs: bigint | null, endNs: bigint | null, bounds: TimeBounds): string | null {
  if (startNs === null || startNs === 0n) return 'startTimeUnixNano is missing or not an integer';
  if (endNs === null || endNs === 0n) return 'endTimeUnixNano is missing or not an integer';
  if (startNs < bounds.minNs) return `startTimeUnixNano ${startNs} is before ${new Date(Number(bounds.minNs / 1_000_000n)).toISOString()}`;
  if (startNs > bounds.maxNs) return `startTimeUnixNano ${startNs} is too far in the future`;
  if (endNs > bounds.maxNs) return `endTimeUnixNano ${endNs} is too far in the future`;
  if (endNs < startNs) return `endTimeUnixNano ${endNs} is before startTimeUnixNano ${startNs}`;
  return null;
}

function enumValue(value: unknown, names: Record<string, number>): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return names[value] ?? Number(value);
  return 0;
}

function convertLink(link: OtlpLink | null | undefined, limits: IngestLimits): SpanLink | string {
  if (!link || typeof link !== 'object') return 'not an object';
  const traceId = idToHex(link.traceId, 16, 'traceId');
  if (traceId === null) return 'traceId is missing';
  if (typeof traceId !== 'string') return traceId.error;
  const spanId = idToHex(link.spanId, 8, 'spanId');
  if (spanId === null) return 'spanId is missing';
  if (typeof spanId !== 'string') return spanId.error;
  return { traceId, spanId, attributes: attributesToRecord(link.attributes, limits) };
}

function convertEvents(events: OtlpEvent[] | null | undefined, startNs: bigint, limits: IngestLimits): SpanEvent[] {
  if (!Array.isArray(events) || events.length === 0) return [];
  const count = Math.min(events.length, limits.maxEventsPerSpan);
  const out: SpanEvent[] = [];
  for (let i = 0; i < count; i++) {
    const event = events[i];
    if (!event || typeof event !== 'object') continue;
    out.push({
      // An event without a usable time is placed at the span's start rather than at 1970.
      timeNs: toUint64(event.timeUnixNano) || startNs,
      name: truncate(String(event.name ?? ''), limits.maxNameLength),
      attributes: attributesToRecord(event.attributes, limits),
    });
  }
  return out;
}

/**
 * Moves Onceflow's identity attributes into their columns; everything else (and identity
 * attributes whose value does not fit the column's type) stays in `attributes`. Returns the
 * other instrumentations' identity tags it saw (they stay in `attributes` too), or null.
 */
function liftAttributes(row: SpanRow, attributes: OtlpKeyValue[] | null | undefined, limits: IngestLimits): FrameworkValues | null {
  if (!Array.isArray(attributes)) return null;
  const out = row.attributes;
  let legacyOperation: MessagingOperation | '' = '';
  let framework: FrameworkValues | null = null;
  const count = Math.min(attributes.length, limits.maxAttributesPerSpan);
  for (let i = 0; i < count; i++) {
    const kv = attributes[i];
    if (!kv || typeof kv.key !== 'string' || kv.key === '') continue;
    const key = kv.key;
    const value = kv.value;
    switch (LIFTED.get(key)) {
      case Lift.MessageId:
        row.messageId = anyValueToString(value, limits);
        continue;
      case Lift.ConversationId:
        row.conversationId = anyValueToString(value, limits);
        continue;
      case Lift.CausationId:
        row.causationId = anyValueToString(value, limits);
        continue;
      case Lift.IdempotencyKey:
        row.idempotencyKey = anyValueToString(value, limits);
        continue;
      case Lift.MessageType:
        row.messageType = anyValueToString(value, limits);
        continue;
      case Lift.PayloadRef:
        row.payloadRef = anyValueToString(value, limits);
        continue;
      case Lift.Destination:
        row.destination = anyValueToString(value, limits);
        continue;
      case Lift.MessagingSystem:
        row.messagingSystem = anyValueToString(value, limits);
        continue;
      case Lift.Attempt: {
        const n = anyValueToInt(value);
        if (n !== null && n >= 0 && n <= 0x7fffffff) {
          row.attempt = n;
          continue;
        }
        break;
      }
      case Lift.PayloadBytes: {
        const n = anyValueToInt(value);
        if (n !== null && n >= 0) {
          row.payloadBytes = n;
          continue;
        }
        break;
      }
      case Lift.PayloadOffloaded: {
        const b = anyValueToBool(value);
        if (b !== null) {
          row.payloadOffloaded = b;
          continue;
        }
        break;
      }
      case Lift.Outcome: {
        const outcome = anyValueToString(value, limits);
        if (OUTCOME_SET.has(outcome)) {
          row.outcome = outcome as Outcome;
          continue;
        }
        break;
      }
      case Lift.Operation: {
        const operation = MESSAGING_OPERATIONS[anyValueToString(value, limits).toLowerCase()];
        if (operation) {
          row.operation = operation;
          continue;
        }
        break;
      }
      case Lift.LegacyOperation: {
        const operation = MESSAGING_OPERATIONS[anyValueToString(value, limits).toLowerCase()];
        if (operation) {
          legacyOperation = operation;
          continue;
        }
        break;
      }
      case Lift.OutgoingMessageIds: {
        const ids = anyValueToStringList(value, limits);
        if (ids !== null) {
          row.outgoingMessageIds = ids;
          continue;
        }
        break;
      }
      case Lift.Framework:
        (framework ??= new FrameworkValues()).offer(key, anyValueToString(value, limits));
        break;
    }
    out[truncate(key, limits.maxNameLength)] = anyValueToString(value, limits);
  }
  // The current attribute wins over the legacy one whatever their order.
  if (row.operation === '') row.operation = legacyOperation;
  return framework;
}
