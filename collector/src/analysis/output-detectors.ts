/**
 * Consistent output: a retried attempt must publish the same messages, with the same content,
 * as the attempt that counted.
 *
 * - inconsistent-output  the same message id sent with different `onceflow.body_digest`
 *                        values (sends without a digest are not compared). error.
 */
import type { Anomaly } from '../model/flow.js';
import { anomaly, attemptLabel, concernedAttempt, concernedService, type Detector } from './anomaly-builder.js';
import type { SendModel } from './conversation-types.js';
import { abridge, nameOf } from './format.js';

const DIGEST_SHOWN = 'sha256:'.length + 8;

function describeSend(send: SendModel): string {
  const by = send.producer ? attemptLabel(send.producer) : send.send.service;
  return `${send.send.bodyDigest.slice(0, DIGEST_SHOWN)} by ${by}`;
}

export const detectInconsistentOutputs: Detector = (model) => {
  const found: Anomaly[] = [];
  for (const message of model.messages) {
    const digested = message.sends.filter((s) => s.send.bodyDigest);
    const digests = new Set(digested.map((s) => s.send.bodyDigest));
    if (digests.size < 2) continue;
    const other = digested.find((s) => s.send.bodyDigest !== digested[0].send.bodyDigest)!;
    found.push(
      anomaly(
        model,
        'inconsistent-output',
        'error',
        message,
        other.producer ? concernedAttempt(other.producer) : concernedService(other.send.service),
        other.send.startMs,
        `${nameOf(message.type, message.id)} was sent ${digested.length}× with ${digests.size} different bodies (${abridge(digested.map(describeSend)).join(', ')}): a retry must publish what the committed attempt published; build outgoing messages from committed state`,
      ),
    );
  }
  return found;
};
