/**
 * Conversation model step: the claim-check blob store calls (client spans carrying
 * `onceflow.blob.operation`), each with the attempt it was made in, for the payload detectors
 * (`payload-detectors.ts`).
 */
import type { SpanRow } from '../model/span.js';
import { blobOperationOf, isBlobMissing, payloadRefOf, startMsOf } from '../model/span-roles.js';
import type { AttemptIndex } from './attempt-grouping.js';
import type { BlobOperationModel } from './conversation-types.js';
import type { AncestorLookup } from './span-tree.js';

/** The (sorted) spans' blob store calls, in time order. */
export function indexBlobOperations(spans: SpanRow[], ancestorsOf: AncestorLookup, index: AttemptIndex): BlobOperationModel[] {
  const operations: BlobOperationModel[] = [];
  for (const span of spans) {
    const operation = blobOperationOf(span);
    const ref = payloadRefOf(span);
    if (!operation || !ref) continue;
    operations.push({
      span,
      operation,
      ref,
      bytes: span.payloadBytes,
      missing: operation === 'get' && isBlobMissing(span),
      startMs: startMsOf(span),
      attempt: index.attemptOfSpan(ancestorsOf(span).attempt),
    });
  }
  return operations;
}
