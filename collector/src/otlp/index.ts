export { convertExportRequest, countSpans, describeRejections, UNKNOWN_SERVICE, validateExportRequest } from './convert.js';
export type { ConversionResult, ValidationResult } from './convert.js';
export { decodeExportRequest, decodeJson, decodeProtobuf, OtlpDecodeError } from './decode.js';
export type { OtlpEncoding } from './decode.js';
export { DEFAULT_LIMITS, resolveLimits, TRUNCATION_MARKER } from './limits.js';
export type { IngestLimits } from './limits.js';
export { CONTENT_TYPES, encodeExportResponse, encodeStatus, RpcCode } from './response.js';
export type { PartialSuccess } from './response.js';
