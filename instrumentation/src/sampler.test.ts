/**
 * The default sampler at ratio 0: spans that carry message identity are kept, everything else
 * is dropped unless its parent was kept.
 *
 *   plain root (HTTP edge, no identity)      dropped (ratio 0)
 *   ├─ express middleware                   dropped (parent dropped)
 *   └─ publish SubmitOrder (PRODUCER)       kept: identity
 *   consume SubmitOrder (CONSUMER)          kept: identity
 *   └─ db query (INTERNAL)                  kept (parent kept)
 */
import { ROOT_CONTEXT, SpanKind, trace, type Attributes, type Context } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { OnceflowSampler, carriesMessageIdentity, onceflowSampler } from './sampler.js';
import { REMOTE_IDENTITY_KEY, type RemoteIdentity } from './scope.js';
import { ATTR_MESSAGING_MESSAGE_ID, ATTR_MESSAGING_SYSTEM } from './semconv.js';

function tracerWith(sampler: Sampler) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { tracer: provider.getTracer('sampler-test'), exporter };
}

const remote = (identity: ReturnType<RemoteIdentity>): Context =>
  ROOT_CONTEXT.setValue(REMOTE_IDENTITY_KEY, (() => identity) as RemoteIdentity);

describe('carriesMessageIdentity', () => {
  it.each<[string, Context, SpanKind, Attributes, boolean]>([
    ['a producer span', ROOT_CONTEXT, SpanKind.PRODUCER, {}, true],
    ['a consumer span', ROOT_CONTEXT, SpanKind.CONSUMER, {}, true],
    ['a client span with messaging.system (e.g. a receive)', ROOT_CONTEXT, SpanKind.CLIENT, { [ATTR_MESSAGING_SYSTEM]: 'kafka' }, true],
    ['an internal span with a message id', ROOT_CONTEXT, SpanKind.INTERNAL, { [ATTR_MESSAGING_MESSAGE_ID]: 'm-1' }, true],
    ['an HTTP request delivering a message', remote({ messageId: 'm-1', conversationId: 'c-1' }), SpanKind.SERVER, {}, true],
    ['an HTTP request inside a conversation (no message)', remote({ conversationId: 'c-1' }), SpanKind.SERVER, {}, false],
    ['a plain HTTP request', ROOT_CONTEXT, SpanKind.SERVER, { 'http.request.method': 'GET' }, false],
    ['a plain internal span', ROOT_CONTEXT, SpanKind.INTERNAL, {}, false],
    ['an HTTP client call', ROOT_CONTEXT, SpanKind.CLIENT, { 'http.request.method': 'POST' }, false],
  ])('%s → %s', (_name, ctx, kind, attributes, expected) => {
    expect(carriesMessageIdentity(ctx, kind, attributes)).toBe(expected);
  });
});

describe('onceflowSampler at ratio 0', () => {
  it('keeps identity spans and their descendants, drops plain spans and theirs', () => {
    const { tracer, exporter } = tracerWith(onceflowSampler({ ratio: 0 }));
    const edge = tracer.startSpan('POST /orders', { kind: SpanKind.SERVER });
    const edgeContext = trace.setSpan(ROOT_CONTEXT, edge);
    const middleware = tracer.startSpan('middleware', {}, edgeContext);
    const publish = tracer.startSpan('publish orders', { kind: SpanKind.PRODUCER }, edgeContext);
    const consume = tracer.startSpan('orders process', { kind: SpanKind.CONSUMER }, trace.setSpan(ROOT_CONTEXT, publish));
    const query = tracer.startSpan('INSERT inbox', {}, trace.setSpan(ROOT_CONTEXT, consume));
    for (const span of [query, consume, publish, middleware, edge]) span.end();

    expect([edge, middleware].map((s) => s.isRecording())).toEqual([false, false]);
    expect(
      exporter
        .getFinishedSpans()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['INSERT inbox', 'orders process', 'publish orders']);
    expect(publish.spanContext().traceId, 'a kept send stays in its trace').toBe(edge.spanContext().traceId);
  });

  it('at ratio 1 keeps plain spans too', () => {
    const { tracer, exporter } = tracerWith(onceflowSampler({ ratio: 1 }));
    tracer.startSpan('plain').end();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
  });

  it('keeps the span when its delegate throws (a dropped span could cost a verdict)', () => {
    const throwing: Sampler = {
      shouldSample: () => {
        throw new Error('delegate exploded');
      },
      toString: () => 'Throwing',
    };
    const { tracer, exporter } = tracerWith(new OnceflowSampler(throwing));
    expect(() => tracer.startSpan('plain').end()).not.toThrow();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['plain']);
  });
});
