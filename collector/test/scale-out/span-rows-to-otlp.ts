/**
 * SpanRow → OTLP request description (the inverse of `otlp/convert.ts` for the fields it lifts),
 * so drawn or generated conversations can be sent to a running collector as exporters would.
 */
import * as semconv from '@onceflow/instrumentation/semconv';
import type { SpanRow } from '../../src/model/span.js';
import type { AttributeValue, ResourceSpec, SpanSpec } from '../../src/otlp/request-builder.js';

const KIND_NUMBERS: Record<SpanRow['kind'], number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS_NUMBERS: Record<SpanRow['statusCode'], number> = { unset: 0, ok: 1, error: 2 };

function liftedAttributes(span: SpanRow): Record<string, AttributeValue> {
  const lifted: [string, AttributeValue | '' | 0 | false][] = [
    [semconv.ATTR_MESSAGING_MESSAGE_ID, span.messageId],
    [semconv.ATTR_MESSAGING_CONVERSATION_ID, span.conversationId],
    [semconv.ATTR_CAUSATION_ID, span.causationId],
    [semconv.ATTR_IDEMPOTENCY_KEY, span.idempotencyKey],
    [semconv.ATTR_MESSAGE_TYPE, span.messageType],
    [semconv.ATTR_PAYLOAD_REF, span.payloadRef],
    [semconv.ATTR_MESSAGING_DESTINATION_NAME, span.destination],
    [semconv.ATTR_MESSAGING_SYSTEM, span.messagingSystem],
    [semconv.ATTR_ATTEMPT, span.attempt],
    [semconv.ATTR_PAYLOAD_BYTES, span.payloadBytes],
    [semconv.ATTR_PAYLOAD_OFFLOADED, span.payloadOffloaded],
    [semconv.ATTR_OUTCOME, span.outcome],
    [semconv.ATTR_MESSAGING_OPERATION_TYPE, span.operation],
  ];
  const attributes: Record<string, AttributeValue> = Object.fromEntries(
    lifted.filter(([, value]) => value !== '' && value !== 0 && value !== false),
  );
  if (span.outgoingMessageIds.length > 0) attributes[semconv.ATTR_OUTGOING_MESSAGE_IDS] = span.outgoingMessageIds;
  return attributes;
}

export function spanSpec(span: SpanRow): SpanSpec {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId || undefined,
    name: span.name,
    kind: KIND_NUMBERS[span.kind],
    startNs: span.startNs,
    endNs: span.startNs + BigInt(span.durationNs),
    attributes: { ...span.attributes, ...liftedAttributes(span) },
    events: span.events,
    links: span.links,
    status: { code: STATUS_NUMBERS[span.statusCode], message: span.statusMessage || undefined },
  };
}

/** One resource per distinct set of resource attributes, in first-seen order. */
export function resourceSpecs(spans: readonly SpanRow[]): ResourceSpec[] {
  const byResource = new Map<string, ResourceSpec>();
  for (const span of spans) {
    const key = JSON.stringify(span.resourceAttributes);
    let resource = byResource.get(key);
    if (!resource) byResource.set(key, (resource = { attributes: { ...span.resourceAttributes }, spans: [] }));
    resource.spans.push(spanSpec(span));
  }
  return [...byResource.values()];
}
