/**
 * Blob operations as spans (client spans `blob put|get|delete`, carrying the reference and
 * size), so that the collector can tell a blob written by an attempt that never committed
 * (orphaned) and a read that found nothing (missing, status error) from the traces. A delete
 * given the blob's stored conversation (the blob collector's, made outside any conversation)
 * names it, so the delete joins the flow that wrote the blob and clears its orphan there.
 */
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  ATTR_BLOB_MISSING,
  ATTR_BLOB_OPERATION,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_PAYLOAD_BYTES,
  ATTR_PAYLOAD_REF,
  type BlobOperation,
} from '@onceflow/instrumentation/semconv';
import { BlobMissingError, refOf, type BlobMeta, type BlobStore } from './blob-store.js';

const tracer = () => trace.getTracer('onceflow-samples-blobs');

async function traced<T>(operation: BlobOperation, ref: string, fn: (span: Span) => Promise<T>, meta?: BlobMeta): Promise<T> {
  const attributes = { [ATTR_BLOB_OPERATION]: operation, [ATTR_PAYLOAD_REF]: ref };
  // Inside an attempt the span processor sets the attempt's conversation (the same one) over it.
  if (meta?.conversationId) Object.assign(attributes, { [ATTR_MESSAGING_CONVERSATION_ID]: meta.conversationId });
  return tracer().startActiveSpan(`blob ${operation}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      if (error instanceof BlobMissingError) span.setAttribute(ATTR_BLOB_MISSING, true);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

export function tracedBlobStore(inner: BlobStore): BlobStore {
  return {
    put: (key, data, meta) =>
      traced('put', refOf(key), async (span) => {
        span.setAttribute(ATTR_PAYLOAD_BYTES, data.length);
        return inner.put(key, data, meta);
      }),
    get: (ref) =>
      traced('get', ref, async (span) => {
        const data = await inner.get(ref);
        span.setAttribute(ATTR_PAYLOAD_BYTES, data.length);
        return data;
      }),
    delete: (ref, meta) => traced('delete', ref, () => inner.delete(ref, meta), meta),
    list: () => inner.list(),
  };
}
