import { describe, expect, it } from 'vitest';
import type { SpanRow } from '../model/span.js';
import { convertExportRequest } from './convert.js';
import { DEFAULT_LIMITS } from './limits.js';
import { buildJsonRequest, hexId, type AttributeValue, type SpanSpec } from './request-builder.js';
import { decodeJson } from './decode.js';
import { massTransitMessageType, nServiceBusMessageType } from './framework-attributes.js';

const NOW_MS = Date.UTC(2026, 10, 26, 12, 0, 0);
const START_NS = BigInt(NOW_MS - 5000) * 1_000_000n;
const PRODUCER_TRACE = hexId(1, 16);
const CONSUMER_TRACE = hexId(2, 16);

function convert(spans: Partial<SpanSpec>[]): SpanRow[] {
  const body = buildJsonRequest([
    {
      attributes: { 'service.name': 'svc' },
      spans: spans.map((spec, i) => ({
        traceId: PRODUCER_TRACE,
        spanId: hexId(100 + i, 8),
        startNs: START_NS,
        endNs: START_NS + 1_000_000n,
        ...spec,
      })),
    },
  ]);
  const result = convertExportRequest(decodeJson(Buffer.from(JSON.stringify(body)), DEFAULT_LIMITS), DEFAULT_LIMITS, NOW_MS);
  expect(result.reasons).toEqual([]);
  return result.spans;
}

const convertOne = (spec: Partial<SpanSpec>) => convert([spec])[0];

describe('conversation of a span that carries none', () => {
  it.each<[string, Partial<SpanSpec>, string]>([
    [
      'Onceflow / semconv 1.17+ conversation id',
      { kind: 5, attributes: { 'messaging.message.conversation_id': 'conv-1', 'nservicebus.conversation_id': 'nsb-1' } },
      'conv-1',
    ],
    [
      'NServiceBus conversation id',
      { kind: 5, attributes: { 'nservicebus.conversation_id': 'nsb-1', 'messaging.conversation_id': 'corr-1' } },
      'nsb-1',
    ],
    [
      'semconv <1.17 conversation id (amqplib: the AMQP correlationId)',
      { kind: 4, attributes: { 'messaging.conversation_id': 'corr-1' } },
      'corr-1',
    ],
    [
      'consumer linked to its producer (useLinksForConsume): the producer’s trace',
      {
        kind: 5,
        traceId: CONSUMER_TRACE,
        links: [{ traceId: PRODUCER_TRACE, spanId: hexId(9, 8) }],
        attributes: { 'messaging.message.id': 'm-1' },
      },
      `trace:${PRODUCER_TRACE}`,
    ],
    [
      'consumer parented on its producer: the shared trace',
      { kind: 5, parentSpanId: hexId(9, 8), attributes: { 'messaging.message.id': 'm-1' } },
      `trace:${PRODUCER_TRACE}`,
    ],
    ['producer with no conversation: its own trace', { kind: 4, attributes: { 'messaging.message.id': 'm-1' } }, `trace:${PRODUCER_TRACE}`],
    [
      'a producer’s links are not followed (batch sends link their sources)',
      { kind: 4, links: [{ traceId: CONSUMER_TRACE, spanId: hexId(9, 8) }], attributes: { 'messaging.message.id': 'm-1' } },
      `trace:${PRODUCER_TRACE}`,
    ],
    [
      'messaging span without a message id (a Kafka poll): none, its flow would be empty',
      { kind: 5, attributes: { 'messaging.system': 'kafka', 'messaging.operation': 'receive' } },
      '',
    ],
    ['HTTP server span: none (not messaging)', { kind: 2, attributes: { 'http.request.method': 'GET' } }, ''],
    ['internal span: none', { kind: 1 }, ''],
    [
      'MassTransit receive span: none (its process child carries the conversation)',
      {
        kind: 5,
        attributes: {
          'messaging.operation': 'receive',
          'messaging.masstransit.input_address': 'rabbitmq://localhost/q',
          'messaging.message.id': 'm-1',
        },
      },
      '',
    ],
  ])('%s', (_name, spec, conversationId) => {
    expect(convertOne(spec).conversationId).toBe(conversationId);
  });

  it('is the same whichever batch arrives first: the consumer alone names the producer’s trace', () => {
    // producer (trace P) ··link··> consumer (trace C): consumer batch first, then the producer batch.
    const consumer = {
      kind: 5,
      traceId: CONSUMER_TRACE,
      spanId: hexId(2, 8),
      links: [{ traceId: PRODUCER_TRACE, spanId: hexId(1, 8) }],
      attributes: { 'messaging.message_id': 'm-1' },
    };
    const producer = { kind: 4, traceId: PRODUCER_TRACE, spanId: hexId(1, 8), attributes: { 'messaging.message_id': 'm-1' } };
    const consumerFirst = [...convert([consumer]), ...convert([producer])];
    const producerFirst = [...convert([producer]), ...convert([consumer])];
    const together = convert([producer, consumer]);
    for (const rows of [consumerFirst, producerFirst, together]) {
      expect(new Set(rows.map((row) => row.conversationId))).toEqual(new Set([`trace:${PRODUCER_TRACE}`]));
    }
  });
});

describe('framework identity tags', () => {
  it.each<[string, Record<string, AttributeValue>, Partial<SpanRow>]>([
    [
      'semconv <1.17 message id, destination (exchange)',
      { 'messaging.message_id': 'm-1', 'messaging.destination': 'orders-x' },
      { messageId: 'm-1', destination: 'orders-x' },
    ],
    [
      'the default exchange ("") falls back to the routing key',
      { 'messaging.destination': '', 'messaging.rabbitmq.routing_key': 'orders' },
      { destination: 'orders' },
    ],
    [
      'semconv 1.17+ routing key when no destination',
      { 'messaging.rabbitmq.destination.routing_key': 'orders' },
      { destination: 'orders' },
    ],
    [
      'the current destination name wins over the older names',
      { 'messaging.destination': 'x', 'messaging.destination.name': 'y' },
      { destination: 'y' },
    ],
    [
      'the current message id wins whatever the order',
      { 'messaging.message_id': 'old', 'messaging.message.id': 'new' },
      { messageId: 'new' },
    ],
    [
      'NServiceBus ids, causation and type',
      {
        'nservicebus.message_id': 'n-1',
        'nservicebus.related_to': 'n-0',
        'nservicebus.enclosed_message_types':
          'Shop.Messages.PlaceOrder, Shop.Messages, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null',
      },
      { messageId: 'n-1', causationId: 'n-0', messageType: 'PlaceOrder' },
    ],
    ['NServiceBus delayed retries: attempt at least one more', { 'nservicebus.delayed_retries': '2' }, { attempt: 3 }],
    ['AMQP redelivered flag: at least the second attempt', { 'messaging.rabbitmq.redelivered': true }, { attempt: 2 }],
    ['not redelivered: attempt unknown', { 'messaging.rabbitmq.redelivered': false }, { attempt: 0 }],
    ['Onceflow attempt wins over the redelivered flag', { 'messaging.rabbitmq.redelivered': true, 'onceflow.attempt': 4 }, { attempt: 4 }],
    ['Onceflow attempt wins over NServiceBus retries', { 'nservicebus.delayed_retries': '2', 'onceflow.attempt': 5 }, { attempt: 5 }],
    [
      'NServiceBus outbox deduplication is a duplicate outcome',
      { 'nservicebus.outbox.deduplicate-message': true },
      { outcome: 'duplicate' },
    ],
    ['no outbox deduplication flag: no outcome', { 'nservicebus.message_id': 'n-1' }, { outcome: '' }],
    [
      'MassTransit message id and type',
      {
        'messaging.masstransit.message_id': 'mt-1',
        'messaging.masstransit.message_types': 'urn:message:Sample.Contracts:SubmitOrder,urn:message:Sample.Contracts:IOrder',
      },
      { messageId: 'mt-1', messageType: 'SubmitOrder' },
    ],
    [
      'Kafka record coordinates (semconv 1.27+) name the message',
      {
        'messaging.system': 'kafka',
        'messaging.destination.name': 'orders',
        'messaging.destination.partition.id': '3',
        'messaging.kafka.offset': 42,
      },
      { messageId: 'kafka:orders/3/42' },
    ],
    [
      'Kafka record coordinates (semconv 1.17–1.26)',
      {
        'messaging.system': 'kafka',
        'messaging.destination.name': 'orders',
        'messaging.kafka.destination.partition': 3,
        'messaging.kafka.message.offset': 42,
      },
      { messageId: 'kafka:orders/3/42' },
    ],
    [
      'Onceflow headers captured by the Java agent (string arrays, `_` or `-` spelling)',
      {
        'messaging.header.onceflow_message_id': ['m-7'],
        'messaging.header.onceflow-conversation-id': ['conv-7'],
        'messaging.header.onceflow_message_type': ['OrderBilled'],
        'messaging.header.onceflow_attempt': ['2'],
      },
      { messageId: 'm-7', conversationId: 'conv-7', messageType: 'OrderBilled', attempt: 2 },
    ],
    ['a captured attempt that is not a positive integer is ignored', { 'messaging.header.onceflow_attempt': ['x'] }, { attempt: 0 }],
    [
      'a Kafka message id wins over the coordinates',
      {
        'messaging.system': 'kafka',
        'messaging.destination.name': 'orders',
        'messaging.destination.partition.id': '3',
        'messaging.kafka.offset': 42,
        'messaging.message.id': 'k-1',
      },
      { messageId: 'k-1' },
    ],
  ])('%s', (_name, attributes, expected) => {
    const row = convertOne({ kind: 5, attributes });
    expect(row).toMatchObject(expected);
  });

  it('keeps the framework tags as attributes (searchable, readable by the analysis)', () => {
    const row = convertOne({ kind: 5, attributes: { 'nservicebus.message_id': 'n-1', 'messaging.rabbitmq.redelivered': true } });
    expect(row.attributes).toMatchObject({ 'nservicebus.message_id': 'n-1', 'messaging.rabbitmq.redelivered': 'true' });
  });

  it.each<[number, string]>([
    [4, 'send'],
    [5, 'process'],
  ])('infers the operation of a messaging span of kind %i when none is given', (kind, operation) => {
    expect(convertOne({ kind, attributes: { 'nservicebus.message_id': 'n-1' } }).operation).toBe(operation);
  });

  it.each([
    ['Ns.OrderPlaced, Shop, Version=1.0.0.0;Ns.IEvent, Shop', 'OrderPlaced'],
    ['Ns.Outer+Nested, Shop', 'Nested'],
    ['OrderPlaced', 'OrderPlaced'],
  ])('reads the NServiceBus message type %s', (text, type) => {
    expect(nServiceBusMessageType(text)).toBe(type);
  });

  it.each([
    ['urn:message:Sample.Contracts:SubmitOrder', 'SubmitOrder'],
    ['urn:message:Sample.Contracts:SubmitOrder,urn:message:Sample.Contracts:IOrder', 'SubmitOrder'],
  ])('reads the MassTransit message type %s', (text, type) => {
    expect(massTransitMessageType(text)).toBe(type);
  });
});
