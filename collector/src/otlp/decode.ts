/**
 * Request bodies → the decoded ExportTraceServiceRequest shape (`types.ts`). Protobuf goes
 * through protobufjs with the opentelemetry-proto definitions; JSON follows the OTLP JSON
 * mapping (hex ids, 64-bit integers as strings or numbers, integer enums, lowerCamelCase keys,
 * with the proto field names accepted too). A body that cannot be decoded throws
 * `OtlpDecodeError` with a message for the client; nothing is partially decoded.
 */
import { ExportTraceServiceRequest } from './proto.js';
import type { IngestLimits } from './limits.js';
import type {
  AnyValueCase,
  OtlpAnyValue,
  OtlpEvent,
  OtlpExportRequest,
  OtlpKeyValue,
  OtlpLink,
  OtlpResourceSpans,
  OtlpScopeSpans,
  OtlpSpan,
} from './types.js';

export type OtlpEncoding = 'protobuf' | 'json';

export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

export function decodeExportRequest(body: Uint8Array, encoding: OtlpEncoding, limits: IngestLimits): OtlpExportRequest {
  return encoding === 'protobuf' ? decodeProtobuf(body) : decodeJson(body, limits);
}

export function decodeProtobuf(body: Uint8Array): OtlpExportRequest {
  try {
    return ExportTraceServiceRequest.decode(body) as unknown as OtlpExportRequest;
  } catch (error) {
    // protobufjs throws on truncated input and bad wire types; a RangeError (stack) on
    // absurd nesting. Both mean the body is not a valid ExportTraceServiceRequest.
    throw new OtlpDecodeError(`invalid protobuf ExportTraceServiceRequest: ${(error as Error).message}`);
  }
}

export function decodeJson(body: Uint8Array, limits: IngestLimits): OtlpExportRequest {
  // An empty body is an empty request, as in protobuf (the specification asks for success).
  if (body.length === 0) return { resourceSpans: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'));
  } catch (error) {
    throw new OtlpDecodeError(`invalid JSON: ${(error as Error).message}`);
  }
  return normalizeRequest(parsed, limits);
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field by its JSON (lowerCamelCase) name or its proto (snake_case) name. */
function field(obj: Obj, camel: string, snake?: string): unknown {
  const value = obj[camel];
  return value !== undefined || snake === undefined ? value : obj[snake];
}

/** A repeated field: absent/null → []; anything but an array → OtlpDecodeError. */
function list(obj: Obj, path: string, camel: string, snake?: string): unknown[] {
  const value = field(obj, camel, snake);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpDecodeError(`${path}.${camel} must be an array`);
  return value;
}

function message(value: unknown, path: string): Obj {
  if (!isObject(value)) throw new OtlpDecodeError(`${path} must be an object`);
  return value;
}

function normalizeRequest(parsed: unknown, limits: IngestLimits): OtlpExportRequest {
  const request = message(parsed, 'request');
  return {
    resourceSpans: list(request, 'request', 'resourceSpans', 'resource_spans').map((rs, i) =>
      normalizeResourceSpans(message(rs, `resourceSpans[${i}]`), `resourceSpans[${i}]`, limits),
    ),
  };
}

function normalizeResourceSpans(rs: Obj, path: string, limits: IngestLimits): OtlpResourceSpans {
  const resource = field(rs, 'resource');
  let scopeSpans = list(rs, path, 'scopeSpans', 'scope_spans');
  // OTLP before 0.15 called these instrumentationLibrarySpans; old SDKs still send them.
  if (scopeSpans.length === 0) scopeSpans = list(rs, path, 'instrumentationLibrarySpans', 'instrumentation_library_spans');
  return {
    resource: isObject(resource) ? { attributes: normalizeAttributes(resource, `${path}.resource`, limits) } : null,
    scopeSpans: scopeSpans.map((ss, i): OtlpScopeSpans => {
      const p = `${path}.scopeSpans[${i}]`;
      return { spans: list(message(ss, p), p, 'spans').map((span, j) => normalizeSpan(span, `${p}.spans[${j}]`, limits)) };
    }),
  };
}

function normalizeSpan(value: unknown, path: string, limits: IngestLimits): OtlpSpan {
  // A span that is not an object is left for the converter to reject (counted, not fatal).
  if (!isObject(value)) return value as OtlpSpan;
  const status = field(value, 'status');
  return {
    traceId: field(value, 'traceId', 'trace_id') as OtlpSpan['traceId'],
    spanId: field(value, 'spanId', 'span_id') as OtlpSpan['spanId'],
    parentSpanId: field(value, 'parentSpanId', 'parent_span_id') as OtlpSpan['parentSpanId'],
    name: field(value, 'name') as string,
    kind: field(value, 'kind') as number,
    startTimeUnixNano: field(value, 'startTimeUnixNano', 'start_time_unix_nano') as OtlpSpan['startTimeUnixNano'],
    endTimeUnixNano: field(value, 'endTimeUnixNano', 'end_time_unix_nano') as OtlpSpan['endTimeUnixNano'],
    attributes: normalizeAttributes(value, path, limits),
    events: list(value, path, 'events').map((event, i): OtlpEvent => {
      const p = `${path}.events[${i}]`;
      const e = message(event, p);
      return {
        timeUnixNano: field(e, 'timeUnixNano', 'time_unix_nano') as OtlpEvent['timeUnixNano'],
        name: field(e, 'name') as string,
        attributes: normalizeAttributes(e, p, limits),
      };
    }),
    links: list(value, path, 'links').map((link, i): OtlpLink => {
      const p = `${path}.links[${i}]`;
      const l = message(link, p);
      return {
        traceId: field(l, 'traceId', 'trace_id') as OtlpLink['traceId'],
        spanId: field(l, 'spanId', 'span_id') as OtlpLink['spanId'],
        attributes: normalizeAttributes(l, p, limits),
      };
    }),
    status: isObject(status) ? { code: status.code as number, message: status.message as string } : null,
  };
}

function normalizeAttributes(owner: Obj, path: string, limits: IngestLimits): OtlpKeyValue[] {
  return normalizeKeyValues(list(owner, path, 'attributes'), limits, 0);
}

function normalizeKeyValues(values: unknown[], limits: IngestLimits, depth: number): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  for (const kv of values) {
    if (isObject(kv) && typeof kv.key === 'string') out.push({ key: kv.key, value: normalizeAnyValue(kv.value, limits, depth) });
  }
  return out;
}

const ANY_VALUE_FIELDS: ReadonlyArray<readonly [AnyValueCase, string]> = [
  ['stringValue', 'string_value'],
  ['boolValue', 'bool_value'],
  ['intValue', 'int_value'],
  ['doubleValue', 'double_value'],
  ['arrayValue', 'array_value'],
  ['kvlistValue', 'kvlist_value'],
  ['bytesValue', 'bytes_value'],
];

/**
 * JSON AnyValue → the decoded shape with its oneof case named. Nesting is followed only a
 * little deeper than the converter keeps (it cuts at `maxAttributeDepth`), so hostile depth
 * cannot exhaust the stack.
 */
function normalizeAnyValue(value: unknown, limits: IngestLimits, depth: number): OtlpAnyValue | null {
  if (!isObject(value)) return null;
  for (const [camel, snake] of ANY_VALUE_FIELDS) {
    const v = field(value, camel, snake);
    if (v === undefined || v === null) continue;
    if (camel === 'arrayValue' || camel === 'kvlistValue') {
      if (depth > limits.maxAttributeDepth + 1) return { value: camel, [camel]: { values: [] } };
      const values = isObject(v) && Array.isArray(v.values) ? v.values : [];
      return camel === 'arrayValue'
        ? { value: camel, arrayValue: { values: values.map((item) => normalizeAnyValue(item, limits, depth + 1) ?? {}) } }
        : { value: camel, kvlistValue: { values: normalizeKeyValues(values, limits, depth + 1) } };
    }
    return { value: camel, [camel]: v };
  }
  return null;
}
