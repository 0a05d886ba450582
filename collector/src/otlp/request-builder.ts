/**
 * Builds OTLP ExportTraceServiceRequest bodies (protobuf and JSON) from a small description,
 * for tests and the ingest benchmark. Not used on the ingest path.
 */
import { ExportTraceServiceRequest } from './proto.js';

export type AttributeValue = string | number | boolean | bigint | AttributeValue[] | { [key: string]: AttributeValue };

export interface SpanSpec {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name?: string;
  /** OTLP SpanKind number (1 internal … 5 consumer). */
  kind?: number;
  startNs: bigint;
  endNs: bigint;
  attributes?: Record<string, AttributeValue>;
  events?: { timeNs: bigint; name: string; attributes?: Record<string, AttributeValue> }[];
  links?: { traceId: string; spanId: string; attributes?: Record<string, AttributeValue> }[];
  status?: { code: number; message?: string };
}

export interface ResourceSpec {
  attributes: Record<string, AttributeValue>;
  spans: SpanSpec[];
}

type JsonAnyValue = Record<string, unknown>;

function jsonValue(value: AttributeValue): JsonAnyValue {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'bigint') return { intValue: value.toString() };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(jsonValue) } };
  return { kvlistValue: { values: jsonAttributes(value) } };
}

function jsonAttributes(attributes: Record<string, AttributeValue> = {}): { key: string; value: JsonAnyValue }[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: jsonValue(value) }));
}

/** The OTLP/JSON form of the request (hex ids, decimal-string 64-bit integers). */
export function buildJsonRequest(resources: ResourceSpec[]): Record<string, unknown> {
  return {
    resourceSpans: resources.map((resource) => ({
      resource: { attributes: jsonAttributes(resource.attributes) },
      scopeSpans: [
        {
          scope: { name: 'onceflow-test' },
          spans: resource.spans.map((span) => ({
            traceId: span.traceId,
            spanId: span.spanId,
            ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
            name: span.name ?? 'span',
            kind: span.kind ?? 1,
            startTimeUnixNano: span.startNs.toString(),
            endTimeUnixNano: span.endNs.toString(),
            attributes: jsonAttributes(span.attributes),
            events: (span.events ?? []).map((event) => ({
              timeUnixNano: event.timeNs.toString(),
              name: event.name,
              attributes: jsonAttributes(event.attributes),
            })),
            links: (span.links ?? []).map((link) => ({
              traceId: link.traceId,
              spanId: link.spanId,
              attributes: jsonAttributes(link.attributes),
            })),
            ...(span.status ? { status: span.status } : {}),
          })),
        },
      ],
    })),
  };
}

export function buildJsonBody(resources: ResourceSpec[]): Buffer {
  return Buffer.from(JSON.stringify(buildJsonRequest(resources)));
}

/** protobufjs `fromObject` takes bytes as base64 text; OTLP/JSON has them as hex. */
function hexIdsToBase64(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => hexIdsToBase64(item));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hexIdsToBase64(v, k)]));
  }
  if (typeof value === 'string' && (key === 'traceId' || key === 'spanId' || key === 'parentSpanId')) {
    return Buffer.from(value, 'hex').toString('base64');
  }
  return value;
}

export function buildProtobufBody(resources: ResourceSpec[]): Buffer {
  const message = ExportTraceServiceRequest.fromObject(hexIdsToBase64(buildJsonRequest(resources)) as Record<string, unknown>);
  return Buffer.from(ExportTraceServiceRequest.encode(message).finish());
}

/** A deterministic lower-case hex id of `bytes` bytes derived from `seed` (never all zeros). */
export function hexId(seed: number, bytes: 8 | 16): string {
  return (seed + 1)
    .toString(16)
    .padStart(bytes * 2, '0')
    .slice(-bytes * 2);
}
