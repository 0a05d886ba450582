/**
 * Reading OTLP scalar encodings robustly: 64-bit integers (protobufjs Long, JSON number or
 * decimal string), ids (bytes or hex text), and AnyValue attributes turned into the strings
 * the span model stores. Every function here accepts hostile input and returns a value or
 * null; none throws and none recurses without a depth bound.
 */
import type { IngestLimits } from './limits.js';
import { TRUNCATION_MARKER } from './limits.js';
import type { AnyValueCase, LongBits, OtlpAnyValue, OtlpId, OtlpInt64, OtlpKeyValue } from './types.js';

const DEPTH_MARKER = '[max depth exceeded]';
const DECIMAL = /^-?\d{1,20}$/;
const HEX = /^[0-9a-fA-F]*$/;

function isLong(value: object): value is LongBits {
  return typeof (value as LongBits).low === 'number' && typeof (value as LongBits).high === 'number';
}

/** The value when it is a protobufjs Long (low and high 32-bit words), else null. */
export function asLong(value: OtlpInt64): LongBits | null {
  return typeof value === 'object' && value !== null && isLong(value) ? value : null;
}

/** An unsigned 64-bit value (fixed64 timestamps) as bigint; null when not an integer. */
export function toUint64(value: OtlpInt64): bigint | null {
  if (typeof value === 'object' && value !== null) {
    if (!isLong(value)) return null;
    return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  }
  const n = toBigInt(value);
  return n === null ? null : BigInt.asUintN(64, n);
}

/** A signed 64-bit value (int64 attributes) as bigint; null when not an integer. */
export function toInt64(value: OtlpInt64): bigint | null {
  if (typeof value === 'object' && value !== null) {
    if (!isLong(value)) return null;
    return BigInt.asIntN(64, (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0));
  }
  const n = toBigInt(value);
  return n === null ? null : BigInt.asIntN(64, n);
}

function toBigInt(value: OtlpInt64): bigint | null {
  switch (typeof value) {
    case 'bigint':
      return value;
    case 'number':
      return Number.isFinite(value) ? BigInt(Math.trunc(value)) : null;
    case 'string':
      return DECIMAL.test(value) ? BigInt(value) : null;
    default:
      return null;
  }
}

/** A signed int64 as a JS number when it is safely representable, else null. */
function int64ToNumber(value: OtlpInt64): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value === 'object' && value !== null && isLong(value) && (value.high === 0 || value.high === -1)) {
    // Fast path for small values: the high word is only sign extension.
    const n = value.high === 0 ? value.low >>> 0 : value.low | 0;
    if (value.high === 0 || n < 0) return n;
  }
  const big = toInt64(value);
  if (big === null) return null;
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Hex text of an id that must be `bytes` long: null when absent (empty), otherwise the hex
 * or an error string (`{ error }`) saying what is wrong.
 */
export function idToHex(value: OtlpId, bytes: number, field: string): string | { error: string } | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    if (value.length === 0) return null;
    if (value.length !== bytes * 2 || !HEX.test(value)) {
      return { error: `${field} must be ${bytes * 2} hex characters, got ${describe(value)}` };
    }
    const hex = value.toLowerCase();
    return isAllZero(hex) ? { error: `${field} is all zeros` } : hex;
  }
  if (value instanceof Uint8Array) {
    if (value.length === 0) return null;
    if (value.length !== bytes) return { error: `${field} must be ${bytes} bytes, got ${value.length}` };
    const bytesBuffer = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
    const hex = bytesBuffer.toString('hex');
    return isAllZero(hex) ? { error: `${field} is all zeros` } : hex;
  }
  // protobufjs leaves an absent bytes field as its shared empty array default.
  if (Array.isArray(value as unknown) && (value as unknown as unknown[]).length === 0) return null;
  return { error: `${field} must be a hex string` };
}

/**
 * What `idToHex` would make of an id, without making the hex text: 'absent' where it returns
 * null, 'valid' where it returns hex, 'invalid' where it returns an error.
 */
export function idState(value: OtlpId, bytes: number): 'absent' | 'valid' | 'invalid' {
  if (value === null || value === undefined) return 'absent';
  if (typeof value === 'string') {
    if (value.length === 0) return 'absent';
    return value.length === bytes * 2 && HEX.test(value) && !isAllZero(value) ? 'valid' : 'invalid';
  }
  if (value instanceof Uint8Array) {
    if (value.length === 0) return 'absent';
    if (value.length !== bytes) return 'invalid';
    for (let i = 0; i < bytes; i++) if (value[i] !== 0) return 'valid';
    return 'invalid';
  }
  return Array.isArray(value as unknown) && (value as unknown as unknown[]).length === 0 ? 'absent' : 'invalid';
}

function isAllZero(hex: string): boolean {
  for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48) return false;
  return true;
}

function describe(value: string): string {
  return value.length > 40 ? `${value.length} characters` : JSON.stringify(value);
}

export function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) + TRUNCATION_MARKER : text;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Which member of the AnyValue oneof is set. Both decoders leave the set member as an own
 * property (protobufjs keeps defaults on the prototype), which is much cheaper to test than
 * protobufjs' `value` oneof getter; the getter remains the fallback.
 */
export function valueCase(value: OtlpAnyValue | null | undefined): AnyValueCase | null {
  if (value === null || value === undefined || typeof value !== 'object') return null;
  if (hasOwn.call(value, 'stringValue') && value.stringValue != null) return 'stringValue';
  if (hasOwn.call(value, 'intValue') && value.intValue != null) return 'intValue';
  if (hasOwn.call(value, 'boolValue') && value.boolValue != null) return 'boolValue';
  if (hasOwn.call(value, 'doubleValue') && value.doubleValue != null) return 'doubleValue';
  if (hasOwn.call(value, 'arrayValue') && value.arrayValue != null) return 'arrayValue';
  if (hasOwn.call(value, 'kvlistValue') && value.kvlistValue != null) return 'kvlistValue';
  if (hasOwn.call(value, 'bytesValue') && value.bytesValue != null) return 'bytesValue';
  const named = value.value;
  return typeof named === 'string' ? named : null;
}

function bytesToBase64(value: Uint8Array | string): string {
  if (typeof value === 'string') return value;
  return Buffer.from(value.buffer, value.byteOffset, value.length).toString('base64');
}

/** An attribute value as the text stored in the span model (arrays and maps as JSON). */
export function anyValueToString(value: OtlpAnyValue | null | undefined, limits: IngestLimits): string {
  const max = limits.maxAttributeValueLength;
  switch (valueCase(value)) {
    case 'stringValue':
      return truncate(String(value!.stringValue ?? ''), max);
    case 'boolValue':
      return value!.boolValue ? 'true' : 'false';
    case 'intValue': {
      const n = toInt64(value!.intValue);
      return n === null ? '' : n.toString();
    }
    case 'doubleValue':
      return String(Number(value!.doubleValue));
    case 'bytesValue':
      return truncate(bytesToBase64(value!.bytesValue ?? ''), max);
    case 'arrayValue':
    case 'kvlistValue':
      return truncate(JSON.stringify(anyValueToJson(value, limits, 1)), max);
    default:
      return '';
  }
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** An attribute value as a JSON value, nesting cut at `maxAttributeDepth`. */
export function anyValueToJson(value: OtlpAnyValue | null | undefined, limits: IngestLimits, depth: number): Json {
  switch (valueCase(value)) {
    case 'stringValue':
      return truncate(String(value!.stringValue ?? ''), limits.maxAttributeValueLength);
    case 'boolValue':
      return Boolean(value!.boolValue);
    case 'intValue': {
      const n = int64ToNumber(value!.intValue);
      return n !== null ? n : (toInt64(value!.intValue)?.toString() ?? null);
    }
    case 'doubleValue': {
      const d = Number(value!.doubleValue);
      return Number.isFinite(d) ? d : String(d);
    }
    case 'bytesValue':
      return truncate(bytesToBase64(value!.bytesValue ?? ''), limits.maxAttributeValueLength);
    case 'arrayValue': {
      if (depth > limits.maxAttributeDepth) return DEPTH_MARKER;
      const values = value!.arrayValue?.values;
      if (!Array.isArray(values)) return [];
      const count = Math.min(values.length, limits.maxAttributesPerSpan);
      const out: Json[] = new Array(count);
      for (let i = 0; i < count; i++) out[i] = anyValueToJson(values[i], limits, depth + 1);
      return out;
    }
    case 'kvlistValue': {
      if (depth > limits.maxAttributeDepth) return DEPTH_MARKER;
      const values = value!.kvlistValue?.values;
      const out: { [key: string]: Json } = {};
      if (!Array.isArray(values)) return out;
      const count = Math.min(values.length, limits.maxAttributesPerSpan);
      for (let i = 0; i < count; i++) {
        const kv = values[i];
        if (kv && typeof kv.key === 'string') out[kv.key] = anyValueToJson(kv.value, limits, depth + 1);
      }
      return out;
    }
    default:
      return null;
  }
}

/** Integer content of an attribute (int, integral double, or decimal text); null otherwise. */
export function anyValueToInt(value: OtlpAnyValue | null | undefined): number | null {
  switch (valueCase(value)) {
    case 'intValue':
      return int64ToNumber(value!.intValue);
    case 'doubleValue': {
      const d = Number(value!.doubleValue);
      return Number.isSafeInteger(d) ? d : null;
    }
    case 'stringValue': {
      const s = String(value!.stringValue ?? '').trim();
      if (!DECIMAL.test(s)) return null;
      const n = Number(s);
      return Number.isSafeInteger(n) ? n : null;
    }
    default:
      return null;
  }
}

/** Boolean content of an attribute (bool, or the text `true`/`false`); null otherwise. */
export function anyValueToBool(value: OtlpAnyValue | null | undefined): boolean | null {
  switch (valueCase(value)) {
    case 'boolValue':
      return Boolean(value!.boolValue);
    case 'stringValue': {
      const s = String(value!.stringValue ?? '').toLowerCase();
      return s === 'true' ? true : s === 'false' ? false : null;
    }
    default:
      return null;
  }
}

/** A list of strings: an array attribute, JSON array text, or comma-separated text. */
export function anyValueToStringList(value: OtlpAnyValue | null | undefined, limits: IngestLimits): string[] | null {
  switch (valueCase(value)) {
    case 'arrayValue': {
      const values = value!.arrayValue?.values;
      if (!Array.isArray(values)) return [];
      const count = Math.min(values.length, limits.maxAttributesPerSpan);
      const out: string[] = [];
      for (let i = 0; i < count; i++) {
        const item = values[i];
        const kind = valueCase(item);
        if (kind === 'arrayValue' || kind === 'kvlistValue') return null;
        out.push(anyValueToString(item, limits));
      }
      return out;
    }
    case 'stringValue': {
      const text = String(value!.stringValue ?? '').trim();
      if (text === '') return [];
      if (text.startsWith('[')) {
        try {
          const parsed: unknown = JSON.parse(text);
          if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) {
            return parsed.slice(0, limits.maxAttributesPerSpan).map((x: string) => truncate(x, limits.maxAttributeValueLength));
          }
        } catch {
          // not JSON: fall through to comma-separated
        }
        return null;
      }
      return text
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')
        .slice(0, limits.maxAttributesPerSpan)
        .map((x) => truncate(x, limits.maxAttributeValueLength));
    }
    default:
      return null;
  }
}

/** Key-value attributes as a string record (later duplicates win; at most the limit kept). */
export function attributesToRecord(attributes: OtlpKeyValue[] | null | undefined, limits: IngestLimits): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(attributes)) return out;
  const count = Math.min(attributes.length, limits.maxAttributesPerSpan);
  for (let i = 0; i < count; i++) {
    const kv = attributes[i];
    if (!kv || typeof kv.key !== 'string' || kv.key === '') continue;
    out[truncate(kv.key, limits.maxNameLength)] = anyValueToString(kv.value, limits);
  }
  return out;
}
