/**
 * Other instrumentations' span tags → Onceflow's span model, as one table. Part of OTLP
 * conversion (`convert.ts`): Onceflow's own attributes and the current OpenTelemetry messaging
 * names are lifted there; the keys below fill a column only when it is still empty after
 * every attribute was read (lower `rank` first), so a span carrying both an Onceflow attribute
 * and a framework tag keeps Onceflow's. Framework tags also stay in `attributes` as they came
 * (searchable, and readable by the analysis).
 *
 * Sources (read in the libraries' code, not guessed):
 * - OpenTelemetry semantic conventions, messaging, before 1.17 (`messaging.message_id`,
 *   `messaging.conversation_id`, `messaging.destination`, `messaging.rabbitmq.routing_key`,
 *   `messaging.kafka.partition`), 1.17–1.26 (`messaging.kafka.message.offset`,
 *   `messaging.kafka.destination.partition`) and 1.27+ (`messaging.kafka.offset`,
 *   `messaging.destination.partition.id`); open-telemetry/opentelemetry-js-contrib
 *   `packages/instrumentation-amqplib/src/semconv-obsolete.ts` emits the pre-1.17 names today.
 * - NServiceBus: Particular/NServiceBus `src/NServiceBus.Core/OpenTelemetry/Tracing/ActivityTags.cs`
 *   (headers promoted to tags by `ActivityDecorator.cs`, on the `process message` consumer and
 *   the `send message` / `publish event` / `reply` producer activities of source
 *   `NServiceBus.Core`) and `Pipeline/Incoming/TransportReceiveToPhysicalMessageConnector.cs`
 *   (`nservicebus.outbox.deduplicate-message`).
 * - MassTransit: MassTransit/MassTransit `src/MassTransit/Logging/Diagnostics/DiagnosticHeaders.cs`
 *   and `LogContextActivityExtensions.cs` (`<queue> receive` / `<queue> process` consumer and
 *   `<destination> send` producer activities of source `MassTransit`).
 * - Captured message headers: the OpenTelemetry Java agent records the headers named in
 *   `otel.instrumentation.messaging.experimental.capture-headers` as string-array attributes
 *   `messaging.header.<name>` (`-` written `_` until its 3.0; open-telemetry/opentelemetry-java-instrumentation
 *   `CapturedMessageHeadersUtil.java`), so Onceflow's own headers arrive without code.
 */
import type { MessagingOperation, Outcome } from '@onceflow/instrumentation/semconv';

/**
 * `messaging.operation.type` (semconv 1.26+) and `messaging.operation` (older; MassTransit)
 * values → the span model's operation. `publish` was renamed `send`, `deliver` `process`.
 * `convert.ts` reads the current name first, whatever the order of the two.
 */
export const MESSAGING_OPERATIONS: Readonly<Record<string, MessagingOperation>> = {
  send: 'send',
  publish: 'send',
  create: 'create',
  receive: 'receive',
  process: 'process',
  deliver: 'process',
  settle: 'settle',
};

/** The span-model columns a framework tag can fill. */
export type FrameworkField =
  'messageId' | 'conversationId' | 'causationId' | 'idempotencyKey' | 'messageType' | 'destination' | 'attempt' | 'outcome';

export interface FrameworkAttribute {
  key: string;
  field: FrameworkField;
  /** Who emits it (shown in docs/conventions.md). */
  source: string;
  /** Lower wins when several keys fill the same column. */
  rank: number;
  /** Tag text → column text; '' when the value does not fit (the column stays as it is). */
  read?: (text: string) => string;
}

const SEMCONV_OLD = 'OpenTelemetry messaging semconv before 1.17 (instrumentation-amqplib today)';
const NSB = 'NServiceBus (activity source NServiceBus.Core)';
const MT = 'MassTransit (activity source MassTransit)';

/** `Ns.OrderPlaced, Shop.Messages, Version=1.0.0.0, …;Ns.IEvent, …` → `OrderPlaced` (the first, most derived type). */
export function nServiceBusMessageType(text: string): string {
  const first = text.split(';')[0].split(',')[0].trim();
  const name = first.slice(first.lastIndexOf('.') + 1);
  // Nested types are written `Outer+Inner`.
  return name.slice(name.lastIndexOf('+') + 1);
}

/** `urn:message:Shop.Contracts:OrderSubmitted,urn:message:Shop.Contracts:IEvent` → `OrderSubmitted`. */
export function massTransitMessageType(text: string): string {
  const first = text.split(',')[0].trim();
  return first.slice(first.lastIndexOf(':') + 1);
}

/** NServiceBus counts delayed retries already made: the attempt is at least one more (immediate retries of a round are not counted). */
function delayedRetriesToAttempt(text: string): string {
  const retries = Number(text);
  return Number.isSafeInteger(retries) && retries >= 0 ? String(retries + 1) : '';
}

const nonEmpty = (text: string) => text.trim();

/** A captured header is a string array (`["v"]` as text): its first value. */
function firstHeaderValue(text: string): string {
  if (!text.startsWith('[')) return text;
  try {
    const values: unknown = JSON.parse(text);
    return Array.isArray(values) && typeof values[0] === 'string' ? values[0] : '';
  } catch {
    return '';
  }
}

const CAPTURED_HEADERS: [header: string, field: FrameworkField][] = [
  ['onceflow-message-id', 'messageId'],
  ['onceflow-conversation-id', 'conversationId'],
  ['onceflow-causation-id', 'causationId'],
  ['onceflow-idempotency-key', 'idempotencyKey'],
  ['onceflow-message-type', 'messageType'],
  ['onceflow-attempt', 'attempt'],
];
const JAVA_HEADERS = 'OpenTelemetry Java agent, captured message headers';

/** Both spellings of each captured Onceflow header. */
const capturedHeaderEntries = (): FrameworkAttribute[] =>
  CAPTURED_HEADERS.flatMap(([header, field]) =>
    [header.replaceAll('-', '_'), header].map((name) => ({
      key: `messaging.header.${name}`,
      field,
      source: JAVA_HEADERS,
      rank: 1,
      read: field === 'attempt' ? (text: string) => positiveInteger(firstHeaderValue(text)) : firstHeaderValue,
    })),
  );

function positiveInteger(text: string): string {
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? String(n) : '';
}
const whenTrue =
  (outcome: Outcome) =>
  (text: string): string =>
    text.toLowerCase() === 'true' ? outcome : '';

export const FRAMEWORK_ATTRIBUTES: readonly FrameworkAttribute[] = [
  { key: 'messaging.message_id', field: 'messageId', source: SEMCONV_OLD, rank: 1 },
  { key: 'nservicebus.message_id', field: 'messageId', source: NSB, rank: 1 },
  { key: 'messaging.masstransit.message_id', field: 'messageId', source: MT, rank: 1 },

  // amqplib fills it from the AMQP correlationId property, as Onceflow's own consumer does.
  { key: 'messaging.conversation_id', field: 'conversationId', source: SEMCONV_OLD, rank: 1 },
  { key: 'nservicebus.conversation_id', field: 'conversationId', source: NSB, rank: 1 },

  // NServiceBus.RelatedTo: the id of the message being handled when this one was sent.
  { key: 'nservicebus.related_to', field: 'causationId', source: NSB, rank: 1 },

  { key: 'nservicebus.enclosed_message_types', field: 'messageType', source: NSB, rank: 1, read: nServiceBusMessageType },
  { key: 'messaging.masstransit.message_types', field: 'messageType', source: MT, rank: 1, read: massTransitMessageType },

  // Exchange ('' for the default exchange, then the routing key names the queue).
  { key: 'messaging.destination', field: 'destination', source: SEMCONV_OLD, rank: 1, read: nonEmpty },
  {
    key: 'messaging.rabbitmq.destination.routing_key',
    field: 'destination',
    source: 'OpenTelemetry messaging semconv 1.17+',
    rank: 2,
    read: nonEmpty,
  },
  { key: 'messaging.rabbitmq.routing_key', field: 'destination', source: SEMCONV_OLD, rank: 2, read: nonEmpty },

  { key: 'nservicebus.delayed_retries', field: 'attempt', source: NSB, rank: 1, read: delayedRetriesToAttempt },
  // AMQP's redelivered flag (amqplib's consumeHook can record it): at least the second attempt,
  // as Onceflow's own consumer counts it when the broker gives no delivery count.
  {
    key: 'messaging.rabbitmq.redelivered',
    field: 'attempt',
    source: 'an application hook (no instrumentation records it)',
    rank: 2,
    read: (text) => (text === 'true' ? '2' : ''),
  },

  // The NServiceBus outbox found the message already processed and skipped the handler.
  { key: 'nservicebus.outbox.deduplicate-message', field: 'outcome', source: NSB, rank: 1, read: whenTrue('duplicate') },

  ...capturedHeaderEntries(),
];

/** Kafka record coordinates, across semconv versions: a record redelivered after a rebalance keeps them. */
export const KAFKA_PARTITION_KEYS: readonly string[] = [
  'messaging.destination.partition.id',
  'messaging.kafka.destination.partition',
  'messaging.kafka.partition',
];
export const KAFKA_OFFSET_KEYS: readonly string[] = ['messaging.kafka.offset', 'messaging.kafka.message.offset'];

export const FRAMEWORK_BY_KEY: ReadonlyMap<string, FrameworkAttribute> = new Map(FRAMEWORK_ATTRIBUTES.map((entry) => [entry.key, entry]));
