/**
 * OTLP/HTTP response bodies, in the request's encoding: ExportTraceServiceResponse for 200
 * (with `partialSuccess` only when spans were rejected) and google.rpc.Status for 4xx/5xx.
 */
import type { OtlpEncoding } from './decode.js';
import { ExportTraceServiceResponse, RpcStatus } from './proto.js';

export const CONTENT_TYPES: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** google.rpc.Code values used in Status bodies (OTLP clients only log them). */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

export function encodeExportResponse(encoding: OtlpEncoding, partialSuccess?: PartialSuccess): Buffer | string {
  if (encoding === 'json') {
    return JSON.stringify(
      partialSuccess
        ? { partialSuccess: { rejectedSpans: String(partialSuccess.rejectedSpans), errorMessage: partialSuccess.errorMessage } }
        : {},
    );
  }
  const message = ExportTraceServiceResponse.create(partialSuccess ? { partialSuccess } : {});
  return Buffer.from(ExportTraceServiceResponse.encode(message).finish());
}

export function encodeStatus(encoding: OtlpEncoding, code: number, message: string): Buffer | string {
  if (encoding === 'json') return JSON.stringify({ code, message });
  return Buffer.from(RpcStatus.encode(RpcStatus.create({ code, message })).finish());
}

export function decodeStatus(body: Uint8Array): { code: number; message: string } {
  const status = RpcStatus.decode(body) as unknown as { code: number; message: string };
  return { code: status.code, message: status.message };
}

export function decodeExportResponse(body: Uint8Array): { partialSuccess?: { rejectedSpans: number; errorMessage: string } } {
  const object = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(body), { longs: Number }) as {
    partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
  };
  if (!object.partialSuccess) return {};
  return {
    partialSuccess: {
      rejectedSpans: object.partialSuccess.rejectedSpans ?? 0,
      errorMessage: object.partialSuccess.errorMessage ?? '',
    },
  };
}
