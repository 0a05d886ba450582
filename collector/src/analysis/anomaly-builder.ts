/**
 * What every detector shares: building an `Anomaly` from the model, and the labels its
 * one-line details use.
 */
import type { Anomaly, AnomalyKind, Severity } from '../model/flow.js';
import type { AttemptModel, ConversationModel, MessageModel } from './conversation-types.js';
import { formatList, nameOf } from './format.js';

export type Detector = (model: ConversationModel) => Anomaly[];

/** Whom an anomaly is about: a service and one of its endpoints. */
export interface Concerned {
  service: string;
  endpoint: string;
}

export const concernedAttempt = (attempt: AttemptModel): Concerned => ({ service: attempt.service, endpoint: attempt.endpoint });
/** A service seen only as a producer (a send outside any attempt, or a lost message's sender). */
export const concernedService = (service: string): Concerned => ({ service, endpoint: service });

export function anomaly(
  model: ConversationModel,
  kind: AnomalyKind,
  severity: Severity,
  message: MessageModel,
  who: Concerned,
  timeMs: number,
  detail: string,
): Anomaly {
  return {
    kind,
    severity,
    conversationId: model.conversationId,
    messageId: message.id,
    messageType: message.type,
    service: who.service,
    endpoint: who.endpoint,
    detail,
    timeMs,
  };
}

export const attemptNumbers = (attempts: AttemptModel[]) => formatList(attempts.map((a) => a.attempt));

/** "BillCustomer attempt 1", or "request POST /orders" when the attempt is an HTTP request. */
export function attemptLabel(attempt: AttemptModel): string {
  if (!attempt.messageId) return `request ${attempt.span.name}`;
  return `${nameOf(attempt.messageType, attempt.messageId)} attempt ${attempt.attempt || '?'}`;
}

/** Each endpoint's attempts of each message. */
export function* endpointAttempts(model: ConversationModel): Generator<[MessageModel, string, AttemptModel[]]> {
  for (const message of model.messages) {
    for (const [endpoint, attempts] of message.endpoints) yield [message, endpoint, attempts];
  }
}
