/**
 * Detectors that read commit markers (`onceflow.committed_at_ms` on the attempt, set by the
 * outcome call after the transaction committed; `onceflow.outbox.dispatch` on sends made by
 * the outbox dispatcher after commit):
 *
 * - premature-publish  a send (not an outbox dispatch) under an attempt that started it before
 *                      that attempt committed, and the commit then succeeded. warning: harmless
 *                      this time, a ghost the day the commit fails. Under an attempt that did
 *                      not commit, a consumed send is a `ghost-message` instead.
 * - stuck-outbox       an outgoing id of an attempt that committed (with a marker) never sent
 *                      nor delivered `stuckOutboxAfterMs` after the commit. error. Not reported
 *                      while spans that may be its delivery are missing.
 */
import type { Anomaly } from '../model/flow.js';
import { anomaly, attemptLabel, concernedAttempt, type Detector } from './anomaly-builder.js';
import type { AttemptModel, ConversationModel, MessageModel } from './conversation-types.js';
import { missingDeliveryEvidence, type Doubt } from './evidence-doubts.js';
import { formatDuration, nameOf } from './format.js';

export const detectPrematurePublishes: Detector = (model) => {
  const found: Anomaly[] = [];
  for (const message of model.messages) {
    const early = message.sends.find(({ producer, resend, send }) => {
      if (!producer || resend || send.outboxDispatch || producer.failed || producer.committedAtMs === null) return false;
      return send.startMs < producer.committedAtMs;
    });
    if (!early) continue;
    const producer = early.producer!;
    found.push(
      anomaly(
        model,
        'premature-publish',
        'warning',
        message,
        concernedAttempt(producer),
        early.send.startMs,
        `${nameOf(message.type, message.id)} was published by ${producer.service} ${formatDuration(producer.committedAtMs! - early.send.startMs)} before ${attemptLabel(producer)} committed: harmless this time, a ghost message the day the commit fails; publish after commit (outbox)`,
      ),
    );
  }
  return found;
};

/**
 * The committed attempt whose outbox holds `message` stuck: it listed the message as outgoing
 * and committed (with a marker) at least `stuckOutboxAfterMs` ago, and the message was never
 * sent nor delivered, with no evidence of either missing. Null when it is not (yet) stuck.
 */
export function stuckCommitter(model: ConversationModel, message: MessageModel): AttemptModel | null {
  const committed = committedLister(message);
  if (!committed || model.now - committed.committedAtMs! < model.stuckOutboxAfterMs) return null;
  return stuckOutboxDoubt(model, message) ? null : committed;
}

/** The committed attempt (with a marker) that listed `message` as outgoing, when it was never sent nor delivered. */
function committedLister(message: MessageModel): AttemptModel | null {
  if (message.sends.length > 0 || message.attempts.length > 0) return null;
  return message.listedBy.find((a) => !a.failed && a.committedAtMs !== null) ?? null;
}

/**
 * Why a message a committed attempt listed and nobody sent may not be stuck: only the
 * committing service's evidence can hide its dispatch (a delivery would show) — its spans lost
 * at export, or its silence since (it may be stalled, or still dispatching). The ledger's
 * `noLost` says `unknown` with this, where the detector stays silent.
 */
export function stuckOutboxDoubt(model: ConversationModel, message: MessageModel): Doubt | null {
  const committed = committedLister(message);
  return committed ? missingDeliveryEvidence(model, message, new Set([committed.service])) : null;
}

export const detectStuckOutboxes: Detector = (model) => {
  const found: Anomaly[] = [];
  for (const message of model.messages) {
    const committed = stuckCommitter(model, message);
    if (!committed) continue;
    const waitedMs = model.now - committed.committedAtMs!;
    found.push(
      anomaly(
        model,
        'stuck-outbox',
        'error',
        message,
        concernedAttempt(committed),
        committed.committedAtMs!,
        `${nameOf(message.type, message.id)} was committed to ${committed.service}'s outbox by ${attemptLabel(committed)} ${formatDuration(waitedMs)} ago and not dispatched (threshold ${formatDuration(model.stuckOutboxAfterMs)}): check the outbox dispatcher`,
      ),
    );
  }
  return found;
};
