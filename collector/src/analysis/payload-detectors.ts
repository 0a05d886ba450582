/**
 * The claim-check detectors, from the blob store calls of the conversation
 * (`blob-operations.ts`):
 *
 * - missing-payload  a blob `get` inside an attempt found nothing (404): the consumer could not
 *                    read the message it was processing. error, one per (message, endpoint),
 *                    about the attempt that first missed it; the detail tells the ref, a
 *                    `delete` of it seen earlier in the flow, and what became of the message
 *                    there (dead-lettered, retried and committed, still failing).
 * - orphaned-payload a blob `put` inside an attempt, with no `delete` of the ref after it in the
 *                    flow, that nobody will read: the attempt did not commit and no message of
 *                    a committed attempt refers to it; or the attempt committed, recorded the
 *                    blob as the offloaded body of a message (`onceflow.payload.offload`) that
 *                    no send carries, and that message is stuck in its outbox (as
 *                    `stuck-outbox` judges it). warning: a storage leak, not a correctness
 *                    fault. Judged once the flow is quiet (the delete may still come), and not
 *                    while a delete may be missing (`orphanDoubt`): spans missing from the
 *                    flow, or spans lost at export, between the put and the flow's quiet
 *                    deadline, by the writer or a consumer of a message referring to the blob.
 *                    A delete made later (a blob collector's, after its retention) withdraws
 *                    it when its span arrives, if it names the blob's conversation. A put whose
 *                    span failed stored nothing known, and is left out.
 */
import type { Anomaly } from '../model/flow.js';
import { anomaly, attemptLabel, attemptNumbers, concernedAttempt, type Detector } from './anomaly-builder.js';
import { offloadedRefsOf } from '../model/span-roles.js';
import { stuckCommitter } from './commit-detectors.js';
import { isSuccess, producedByCommitted, producerOf } from './conversation-model.js';
import type { AttemptModel, BlobOperationModel, ConversationModel, MessageModel } from './conversation-types.js';
import { anyMissingSpans, exportLossDoubt, type Doubt } from './evidence-doubts.js';
import { formatBytes, formatDuration, formatList, nameOf } from './format.js';
import { subscribersOf } from './subscriptions.js';

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
 * Services that may delete (or read and then delete) `put`'s blob: its writer (a delete on
 * abort, a retry's clean-up, a blob collector that names the blob's conversation) and the
 * consumers of any message of the flow that refers to it (seen, or known subscribers).
 */
function possibleDeleters(model: ConversationModel, put: BlobOperationModel): Set<string> {
  const services = new Set([put.span.service]);
  for (const message of model.messages) {
    if (message.payloadRef !== put.ref) continue;
    for (const attempt of message.attempts) services.add(attempt.service);
    if (!model.subscriptions) continue;
    for (const service of subscribersOf(model.subscriptions, producerOf(message), message.type).known.values()) services.add(service);
  }
  return services;
}

/**
 * Spans that may hold a delete of `put`'s blob are missing: the flow's orphans, or spans that a
 * possible deleter (above) lost at export between the put and the flow's quiet deadline.
 *
 * The window ends at the quiet deadline, not at the judgement: a busy service's stream has holes
 * at any moment for spans still running or queued for export, which would hide every orphan of
 * a writer that never rests, at the first judgement and at the second look alike. A delete made
 * after the flow went quiet (a blob collector's, after its retention) re-opens the flow when it
 * arrives and withdraws the orphan; one lost at export then is not seen.
 */
function orphanDoubt(model: ConversationModel, put: BlobOperationModel): Doubt | null {
  const missing = anyMissingSpans(model);
  if (missing) return missing;
  const what = `a delete of ${put.ref}, stored before them, may be among them`;
  const doubt = exportLossDoubt(model, possibleDeleters(model, put), put.startMs, what, model.quietUntilMs);
  return doubt && { ...doubt, evidence: [put.span.spanId] };
}

/**
 * The messages `writer` (which committed) listed as outgoing and left stuck in its outbox, when
 * it recorded `put`'s blob as the offloaded body of one of its messages and no message carries
 * it: the blob was written for a message that will not be sent, and nobody will read it.
 */
function stuckMessagesOf(model: ConversationModel, writer: AttemptModel, put: BlobOperationModel): MessageModel[] {
  if (!offloadedRefsOf(writer.span).includes(put.ref) || model.messages.some((m) => m.payloadRef === put.ref)) return [];
  return writer.outgoing.flatMap((id) => {
    const message = model.messagesById.get(id);
    return message && stuckCommitter(model, message) ? [message] : [];
  });
}

/** Why the blob is left behind: the attempt that wrote it did not commit, or its message never left the outbox. */
function orphanCause(model: ConversationModel, put: BlobOperationModel, writer: AttemptModel, committedRefs: Set<string>): string | null {
  if (writer.failed) {
    return committedRefs.has(put.ref)
      ? null
      : `which did not commit (${writer.effective}), was never deleted and no committed message refers to it: storage leaks until a blob collector removes it; delete it when the attempt aborts`;
  }
  const stuck = stuckMessagesOf(model, writer, put);
  if (stuck.length === 0) return null;
  return `for ${formatList(stuck.map((m) => nameOf(m.type, m.id)))}, committed to its outbox but never dispatched (stuck outbox), and was never deleted: no consumer will read it, and a blob collector that keeps what committed state refers to never removes it; dispatch the outbox`;
}

export const detectOrphanedPayloads: Detector = (model) => {
  if (model.active) return [];
  const committedRefs = new Set(model.messages.filter(producedByCommitted).map((m) => m.payloadRef));
  const found: Anomaly[] = [];
  for (const put of model.blobOperations) {
    const writer = put.attempt;
    if (put.operation !== 'put' || put.span.statusCode === 'error' || !writer) continue;
    const message = model.messagesById.get(writer.messageId);
    if (!message) continue;
    if (model.blobOperations.some((op) => op.operation === 'delete' && op.ref === put.ref && op.startMs >= put.startMs)) continue;
    const cause = orphanCause(model, put, writer, committedRefs);
    if (!cause || orphanDoubt(model, put)) continue;
    const size = put.bytes > 0 ? ` (${formatBytes(put.bytes)})` : '';
    found.push(
      anomaly(
        model,
        'orphaned-payload',
        'warning',
        message,
        concernedAttempt(writer),
        put.startMs,
        `${put.ref}${size} stored by ${writer.service} in ${attemptLabel(writer)}, ${cause}`,
      ),
    );
  }
  return found;
};
