/**
 * Last step of converting one span: identity that Onceflow's attributes did not give, taken
 * from what other instrumentations carry (`framework-attributes.ts`), and a conversation for
 * messaging spans that have none. Pure and per span: it reads nothing but the span itself, so
 * a span gets the same conversation whichever batch arrives first (the producer's span is
 * never needed — see `completeIdentity`).
 */
import type { SpanRow } from '../model/span.js';
import { FRAMEWORK_BY_KEY, KAFKA_OFFSET_KEYS, KAFKA_PARTITION_KEYS, type FrameworkField } from './framework-attributes.js';

/** Prefix of a conversation named after the producer's trace. */
export const TRACE_CONVERSATION_PREFIX = 'trace:';

/**
 * MassTransit's `<queue> receive` span carries the transport's message id but not the
 * conversation, which only its `<queue> process` child has: such a span gets no derived
 * conversation, or one delivery would be split over two flows.
 */
const WRAPS_IDENTIFIED_CHILD = 'messaging.masstransit.input_address';

/** Framework values seen on one span, best rank per column. */
export class FrameworkValues {
  private readonly best = new Map<FrameworkField, { rank: number; value: string }>();

  /** Offers a tag's text; a key not in the table, or a value that does not fit, is ignored. */
  offer(key: string, text: string): void {
    const entry = FRAMEWORK_BY_KEY.get(key);
    if (!entry) return;
    const value = entry.read ? entry.read(text) : text;
    if (value === '') return;
    const current = this.best.get(entry.field);
    if (!current || entry.rank < current.rank) this.best.set(entry.field, { rank: entry.rank, value });
  }

  /** Fills the columns still empty. */
  fill(row: SpanRow): void {
    for (const [field, { value }] of this.best) {
      switch (field) {
        case 'attempt':
          if (row.attempt === 0) row.attempt = Number(value);
          break;
        case 'outcome':
          if (row.outcome === '') row.outcome = value as SpanRow['outcome'];
          break;
        default:
          if (row[field] === '') row[field] = value;
      }
    }
  }
}

function firstAttribute(row: SpanRow, keys: readonly string[]): string {
  for (const key of keys) {
    const value = row.attributes[key];
    if (value) return value;
  }
  return '';
}

/** A messaging span: it says so by kind, operation, system or message id. */
export function isMessagingSpan(row: SpanRow): boolean {
  return row.kind === 'producer' || row.kind === 'consumer' || row.operation !== '' || row.messagingSystem !== '' || row.messageId !== '';
}

/**
 * Completes a converted row: framework values, a Kafka record id, the operation implied by the
 * kind, and the conversation. Order of the conversation (documented in docs/conventions.md):
 * 1. `messaging.message.conversation_id` (Onceflow and semconv 1.17+, MassTransit);
 * 2. the framework's conversation id (`nservicebus.conversation_id`, semconv's older
 *    `messaging.conversation_id`);
 * 3. the producer's context: a consumer linked to its producer (OpenTelemetry's messaging
 *    conventions) joins the producer's trace, `trace:<linked trace id>`; a consumer parented on
 *    its producer is in the producer's trace already, `trace:<trace id>`;
 * 4. the span's own trace, `trace:<trace id>`.
 * Steps 3 and 4 name the conversation by the producer's trace id, which the consumer span
 * carries itself: no lookup of the producer span, so the result does not depend on the order
 * in which batches arrive. Only messaging spans with a message id get one; HTTP and internal
 * spans without a conversation stay outside flows, as before.
 */
export function completeIdentity(row: SpanRow, framework: FrameworkValues | null): void {
  framework?.fill(row);
  if (row.messageId === '') row.messageId = kafkaRecordId(row);
  if (!isMessagingSpan(row)) return;
  if (row.operation === '') {
    if (row.kind === 'producer') row.operation = 'send';
    else if (row.kind === 'consumer') row.operation = 'process';
  }
  // A span without a message id (a Kafka poll, a settle) is part of no message: a flow of its
  // own would be empty.
  if (row.conversationId !== '' || row.messageId === '' || WRAPS_IDENTIFIED_CHILD in row.attributes) return;
  const link = row.kind === 'producer' ? undefined : row.links[0];
  row.conversationId = TRACE_CONVERSATION_PREFIX + (link ? link.traceId : row.traceId);
}

/** `kafka:<topic>/<partition>/<offset>`: Kafka instrumentations set no message id, but a record's coordinates identify it. */
function kafkaRecordId(row: SpanRow): string {
  if (row.messagingSystem !== 'kafka' || row.destination === '') return '';
  const partition = firstAttribute(row, KAFKA_PARTITION_KEYS);
  const offset = firstAttribute(row, KAFKA_OFFSET_KEYS);
  return partition !== '' && offset !== '' ? `kafka:${row.destination}/${partition}/${offset}` : '';
}
