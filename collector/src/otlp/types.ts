/**
 * The decoded shape of an ExportTraceServiceRequest, as both decoders produce it: the
 * protobuf decoder (protobufjs message objects) and the JSON decoder (normalised to the same
 * field names). The converter reads only this shape.
 *
 * Differences the converter tolerates: ids are bytes (protobuf) or hex text (JSON); 64-bit
 * integers are protobufjs `Long`s, numbers or decimal strings.
 */

/** A protobufjs Long (or anything with the same low/high words). */
export interface LongBits {
  low: number;
  high: number;
  unsigned?: boolean;
}

export type OtlpInt64 = LongBits | number | string | bigint | null | undefined;
/** Bytes from protobuf, hex text from JSON. */
export type OtlpId = Uint8Array | string | null | undefined;

export type AnyValueCase = 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';

export interface OtlpAnyValue {
  /** Which member of the `value` oneof is set (undefined/null: an empty value). */
  value?: AnyValueCase | null;
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: OtlpInt64;
  doubleValue?: number | null;
  arrayValue?: { values?: OtlpAnyValue[] | null } | null;
  kvlistValue?: { values?: OtlpKeyValue[] | null } | null;
  /** Bytes from protobuf, base64 text from JSON. */
  bytesValue?: Uint8Array | string | null;
}

export interface OtlpKeyValue {
  key?: string | null;
  value?: OtlpAnyValue | null;
}

export interface OtlpEvent {
  timeUnixNano?: OtlpInt64;
  name?: string | null;
  attributes?: OtlpKeyValue[] | null;
}

export interface OtlpLink {
  traceId?: OtlpId;
  spanId?: OtlpId;
  attributes?: OtlpKeyValue[] | null;
}

export interface OtlpStatus {
  code?: number | null;
  message?: string | null;
}

export interface OtlpSpan {
  traceId?: OtlpId;
  spanId?: OtlpId;
  parentSpanId?: OtlpId;
  name?: string | null;
  kind?: number | null;
  startTimeUnixNano?: OtlpInt64;
  endTimeUnixNano?: OtlpInt64;
  attributes?: OtlpKeyValue[] | null;
  events?: OtlpEvent[] | null;
  links?: OtlpLink[] | null;
  status?: OtlpStatus | null;
}

export interface OtlpScopeSpans {
  spans?: OtlpSpan[] | null;
}

export interface OtlpResourceSpans {
  resource?: { attributes?: OtlpKeyValue[] | null } | null;
  scopeSpans?: OtlpScopeSpans[] | null;
}

export interface OtlpExportRequest {
  resourceSpans?: OtlpResourceSpans[] | null;
}
