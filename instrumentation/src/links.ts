/** Linking a consumer span to the producer's context, per the messaging conventions. */
import { TraceFlags, type Span, type SpanContext } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  const match = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!match || /^0+$/.test(match[1]) || /^0+$/.test(match[2])) return undefined;
  return { traceId: match[1], spanId: match[2], traceFlags: parseInt(match[3], 16) & TraceFlags.SAMPLED, isRemote: true };
}

/** Adds a link to the producer unless the span already has one (e.g. `useLinksForConsume`). */
export function linkToProducer(span: Span, traceparent: string | undefined): void {
  const producer = parseTraceparent(traceparent);
  if (!producer) return;
  const links = (span as unknown as { links?: { context: SpanContext }[] }).links;
  if (links?.some((link) => link.context.spanId === producer.spanId && link.context.traceId === producer.traceId)) return;
  span.addLink({ context: producer });
}
