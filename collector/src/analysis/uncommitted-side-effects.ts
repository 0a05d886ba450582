/**
 * Detector `uncommitted-side-effect` (error): an external call that changes state (not GET,
 * HEAD, OPTIONS) and executed or may have (2xx, or no answer), made by attempts of a message
 * none of whose attempts at that endpoint ever committed. The call stays done in the world (a
 * charge at the payment provider) while the processing that asked for it never counted: no
 * retry will own it, and nothing in the system records it.
 *
 * Judged only once the message is final at the endpoint: dead-lettered, or the flow is quiet
 * and its last attempt is not a scheduled retry (that retry may still commit, or its span be
 * the one missing). Not reported while a committed attempt may be missing (holes in the
 * attempt numbers, spans whose parent never arrived: `missingCommitDoubt`). One anomaly per
 * (message, endpoint), about the failed attempt that made the last such call.
 */
import type { Anomaly, HttpCall } from '../model/flow.js';
import { anomaly, attemptNumbers, concernedAttempt, type Detector } from './anomaly-builder.js';
import { isSuccess } from './conversation-model.js';
import type { AttemptModel, ConversationModel, MessageModel } from './conversation-types.js';
import { missingCommitDoubt } from './evidence-doubts.js';
import { abridge, nameOf } from './format.js';
import { callerOf, mayHaveExecuted } from './http-calls.js';

/** Methods that only read: calling them again, or for nothing, changes nothing at the callee. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** No attempt will come that could still commit: dead-lettered, or quiet with no retry scheduled. */
function isFinal(model: ConversationModel, attempts: AttemptModel[]): boolean {
  if (attempts.some((a) => a.effective === 'dead_lettered')) return true;
  return !model.active && attempts[attempts.length - 1]?.effective !== 'retry_scheduled';
}

const describeCall = (call: HttpCall, attempt: AttemptModel) =>
  `${call.method} ${call.target} → ${call.server} ${call.statusCode || 'no answer'} (attempt ${attempt.attempt || '?'})`;

export const detectUncommittedSideEffects: Detector = (model) => {
  const groups = new Map<string, { message: MessageModel; calls: [HttpCall, AttemptModel][] }>();
  for (const call of model.httpCalls) {
    if (!call.client || SAFE_METHODS.has(call.method.toUpperCase()) || !mayHaveExecuted(call)) continue;
    const caller = callerOf(call, model);
    if (!caller || !caller[1].failed) continue;
    const [message, attempt] = caller;
    const group = `${message.id}\u0000${attempt.endpoint}`;
    const known = groups.get(group);
    if (known) known.calls.push([call, attempt]);
    else groups.set(group, { message, calls: [[call, attempt]] });
  }
  const found: Anomaly[] = [];
  for (const { message, calls } of groups.values()) {
    const endpointAttempts = message.endpoints.get(calls[0][1].endpoint) ?? [];
    if (endpointAttempts.some(isSuccess) || !isFinal(model, endpointAttempts)) continue;
    calls.sort(([a], [b]) => a.startMs - b.startMs);
    const [lastCall, lastCaller] = calls[calls.length - 1];
    if (missingCommitDoubt(model, lastCaller)) continue;
    const dead = endpointAttempts.some((a) => a.effective === 'dead_lettered');
    const fate = dead ? 'dead-lettered' : 'given up';
    const callers = [...new Set(calls.map(([, a]) => a))];
    found.push(
      anomaly(
        model,
        'uncommitted-side-effect',
        'error',
        message,
        concernedAttempt(lastCaller),
        lastCall.startMs,
        `${nameOf(message.type, message.id)} was ${fate} at ${lastCaller.service} and no attempt committed, yet attempt${callers.length > 1 ? 's' : ''} ${attemptNumbers(callers)} made ${calls.length} external call${calls.length > 1 ? 's' : ''} that executed or may have: ${abridge(calls.map(([c, a]) => describeCall(c, a))).join('; ')}. The effect stays with no processing that counts: compensate it, or make the call idempotent and keyed so the retry that commits owns it`,
      ),
    );
  }
  return found;
};
