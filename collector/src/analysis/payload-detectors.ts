/**
 * The claim-check detectors, from the blob store calls of the conversation
 * (`blob-operations.ts`):
 *
 * - missing-payload  a blob `get` inside an attempt found nothing (404): the consumer could not
 *                    read the message it was processing. error, one per (message, endpoint),
 *                    about the attempt that first missed it; the detail tells the ref, a
 *                    `delete` of it seen earlier in the flow, and what became of the message
 *                    there (dead-lettered, retried and committed, still failing).
 * - orphaned-payload a blob `put` inside an attempt that did not commit, with no `delete` of
 *                    the ref after it in the flow and no message of a committed attempt
 *                    referring to it. warning: a storage leak, not a correctness fault. Judged
 *                    once the flow is quiet (the delete may still come), and not while spans
 *                    are missing from the flow or the writer lost spans at export during the
 *                    attempt (its delete on abort may be among them). A delete made later by
 *                    another span lost at export is not seen: a false warning then. A put whose
 *                    span failed stored nothing known, and is left out.
 */
import type { Anomaly } from '../model/flow.js';
import { anomaly, attemptLabel, attemptNumbers, concernedAttempt, type Detector } from './anomaly-builder.js';
import { isSuccess, producedByCommitted } from './conversation-model.js';
import type { AttemptModel, BlobOperationModel, ConversationModel, MessageModel } from './conversation-types.js';
import { anyMissingSpans } from './evidence-doubts.js';
import { lossesDuring } from './export-losses.js';
import { formatBytes, formatDuration, nameOf } from './format.js';

/** What became of the message at the endpoint after its payload was missing. */
function aftermath(attempts: AttemptModel[]): string {
  const success = attempts.find(isSuccess);
  if (success) return `a later attempt (${success.attempt || '?'}) then committed`;
  const last = attempts[attempts.length - 1];
  if (last.effective === 'dead_lettered') return `dead-lettered after attempt ${last.attempt || '?'}`;
  if (last.effective === 'retry_scheduled') return `a retry is scheduled (no retry brings a deleted blob back)`;
  return `attempt ${last.attempt || '?'} ${last.effective}`;
}

/** An earlier `delete` of the ref seen in the flow: who removed the payload, and when. */
function deletedBefore(model: ConversationModel, read: BlobOperationModel): string {
  const removal = model.blobOperations.find((op) => op.operation === 'delete' && op.ref === read.ref && op.startMs <= read.startMs);
  if (!removal) return '';
  return `; ${removal.span.service} deleted it ${formatDuration(read.startMs - removal.startMs)} before`;
}

export const detectMissingPayloads: Detector = (model) => {
  const groups = new Map<string, { message: MessageModel; reads: BlobOperationModel[] }>();
  for (const op of model.blobOperations) {
    if (!op.missing || !op.attempt) continue;
    const message = model.messagesById.get(op.attempt.messageId);
    if (!message) continue;
    const group = `${message.id}\u0000${op.attempt.endpoint}`;
    const known = groups.get(group);
    if (known) known.reads.push(op);
    else groups.set(group, { message, reads: [op] });
  }
  const found: Anomaly[] = [];
  for (const { message, reads } of groups.values()) {
    const [first] = reads;
    const reader = first.attempt!;
    const missedBy = [...new Set(reads.map((r) => r.attempt!))];
    const attempts = message.endpoints.get(reader.endpoint) ?? [];
    found.push(
      anomaly(
        model,
        'missing-payload',
        'error',
        message,
        concernedAttempt(reader),
        first.startMs,
        `${nameOf(message.type, message.id)} could not be read by ${reader.service}: its payload ${first.ref} was missing (404) on attempt${missedBy.length > 1 ? 's' : ''} ${attemptNumbers(missedBy)}${deletedBefore(model, first)}; ${aftermath(attempts)}. Keep a claim-check blob until every consumer has processed its message`,
      ),
    );
  }
  return found;
};

/**
 * Spans that may hold the delete of `put`'s blob are missing: the flow's orphans, or spans the
 * writer lost at export between the put and the end of its attempt, where a delete on abort is
 * made. Not until the flow is judged (as `exportLossDoubt` reads): a busy service's stream has
 * holes at any moment for the spans still running or queued for export, which would hide every
 * orphan of a service that never rests.
 */
function deleteMayBeMissing(model: ConversationModel, put: BlobOperationModel, writer: AttemptModel): boolean {
  return (
    anyMissingSpans(model) !== null || lossesDuring(model.exportLosses, new Set([put.span.service]), put.startMs, writer.endMs).length > 0
  );
}

export const detectOrphanedPayloads: Detector = (model) => {
  if (model.active) return [];
  const committedRefs = new Set(model.messages.filter(producedByCommitted).map((m) => m.payloadRef));
  const found: Anomaly[] = [];
  for (const put of model.blobOperations) {
    const writer = put.attempt;
    if (put.operation !== 'put' || put.span.statusCode === 'error' || !writer?.failed || committedRefs.has(put.ref)) continue;
    const message = model.messagesById.get(writer.messageId);
    if (!message) continue;
    if (model.blobOperations.some((op) => op.operation === 'delete' && op.ref === put.ref && op.startMs >= put.startMs)) continue;
    if (deleteMayBeMissing(model, put, writer)) continue;
    const size = put.bytes > 0 ? ` (${formatBytes(put.bytes)})` : '';
    found.push(
      anomaly(
        model,
        'orphaned-payload',
        'warning',
        message,
        concernedAttempt(writer),
        put.startMs,
        `${put.ref}${size} stored by ${writer.service} in ${attemptLabel(writer)}, which did not commit (${writer.effective}), was never deleted and no committed message refers to it: storage leaks until a blob collector removes it; delete it when the attempt aborts`,
      ),
    );
  }
  return found;
};
