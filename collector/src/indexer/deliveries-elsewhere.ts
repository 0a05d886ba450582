/**
 * Before a flow is judged: deliveries of its messages that are stored under another
 * conversation. A consumer that carries no conversation id (plain OpenTelemetry, next to a
 * producer instrumented with Onceflow, NServiceBus or MassTransit) gets one derived from the
 * producer's trace at ingest (`otlp/derive-identity.ts`), so its delivery is not in the
 * producer's conversation, and the producer's message would read as lost. Looked up when the
 * flow is read, by message id, so it holds whatever order the batches arrived in; only for
 * messages sent and not delivered within the flow, and only once its quiet period has passed
 * (before that nothing is judged lost), so flows whose deliveries are all present cost nothing.
 * The other way round, a derived flow names the flows whose messages it delivered
 * (`producerConversations`), so a consumer that arrives after the producer's flow was judged
 * gets that flow judged again.
 */
import { endMsOf, isAttemptSpan, isSend } from '../model/span-roles.js';
import { TRACE_CONVERSATION_PREFIX } from '../otlp/derive-identity.js';
import type { SpanRow } from '../model/span.js';
import type { SpanStore } from '../store/span-store.js';

/** Undelivered messages looked up per flow read; a flow with more is judged on what was read. */
const MAX_LOOKUPS = 20;
/** Spans read per looked-up message. */
const MAX_SPANS_PER_MESSAGE = 200;
/** Spans of the producer's trace read to find the flows a derived flow delivered for. */
const MAX_TRACE_SPANS = 2000;

/** Ids of messages the spans show sent (or listed as outgoing) but never delivered. */
export function undeliveredMessageIds(spans: readonly SpanRow[]): string[] {
  const delivered = new Set<string>();
  const sent = new Set<string>();
  for (const span of spans) {
    if (isAttemptSpan(span)) {
      if (span.messageId) delivered.add(span.messageId);
      for (const id of span.outgoingMessageIds) sent.add(id);
    } else if (isSend(span) && span.messageId) {
      sent.add(span.messageId);
    }
  }
  return [...sent].filter((id) => !delivered.has(id));
}

/**
 * The flow's spans plus the attempts of its undelivered messages found under other
 * conversations, relabelled with this conversation (they are its deliveries).
 */
export async function withDeliveriesElsewhere(
  store: SpanStore,
  conversationId: string,
  spans: SpanRow[],
  options: { now: number; quietPeriodMs: number },
): Promise<SpanRow[]> {
  let lastEndMs = -Infinity;
  for (const span of spans) lastEndMs = Math.max(lastEndMs, endMsOf(span));
  if (options.now < lastEndMs + options.quietPeriodMs) return spans;
  const missing = undeliveredMessageIds(spans).slice(0, MAX_LOOKUPS);
  if (missing.length === 0) return spans;
  const found = await Promise.all(
    missing.map(async (id) =>
      (await store.spansOfMessage(id, MAX_SPANS_PER_MESSAGE)).filter(
        (span) => span.messageId === id && span.conversationId !== conversationId && isAttemptSpan(span),
      ),
    ),
  );
  const elsewhere = found.flat().map((span) => ({ ...span, conversationId }));
  return elsewhere.length === 0 ? spans : [...spans, ...elsewhere];
}

/**
 * For a conversation derived from a trace (`trace:<id>`): the conversations, carried by their
 * producers in that trace, of the messages this flow delivered. Empty for any other conversation.
 */
export async function producerConversations(store: SpanStore, conversationId: string, spans: readonly SpanRow[]): Promise<string[]> {
  if (!conversationId.startsWith(TRACE_CONVERSATION_PREFIX)) return [];
  // Messages sent within this flow have their producer here: only the others are looked for.
  const sentHere = new Set(spans.filter((span) => isSend(span)).map((span) => span.messageId));
  const delivered = new Set(
    spans.filter((span) => isAttemptSpan(span) && span.messageId && !sentHere.has(span.messageId)).map((span) => span.messageId),
  );
  if (delivered.size === 0) return [];
  const trace = await store.spansOfTrace(conversationId.slice(TRACE_CONVERSATION_PREFIX.length), MAX_TRACE_SPANS);
  const owners = new Set<string>();
  for (const span of trace) {
    if (
      isSend(span) &&
      delivered.has(span.messageId) &&
      span.conversationId !== '' &&
      !span.conversationId.startsWith(TRACE_CONVERSATION_PREFIX)
    ) {
      owners.add(span.conversationId);
    }
  }
  return [...owners];
}
