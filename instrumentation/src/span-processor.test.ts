import { SpanKind } from '@opentelemetry/api';
import { SamplingDecision, type Sampler } from '@opentelemetry/sdk-trace-base';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import {
  ATTR_EXPORT_ENTRIES,
  ATTR_EXPORT_PREVIOUS_ENTRIES,
  ATTR_EXPORT_SEQ,
  ATTR_EXPORT_STREAM,
  ATTR_MESSAGING_MESSAGE_ID,
} from './semconv.js';
import { onceflowSpanProcessor } from './span-processor.js';

/** Records spans whose name does not start with `unsampled` (those are recorded, not sampled). */
const samplerByName: Sampler = {
  shouldSample: (_ctx, _trace, name) => ({
    decision: name.startsWith('unsampled') ? SamplingDecision.RECORD : SamplingDecision.RECORD_AND_SAMPLED,
  }),
  toString: () => 'by name',
};

function numberedProvider() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    sampler: samplerByName,
    spanProcessors: [onceflowSpanProcessor(), new SimpleSpanProcessor(exporter)],
  });
  const run = (names: string[]) => {
    for (const name of names) provider.getTracer('test').startSpan(name).end();
  };
  /** Spans of a kind, with a message id when given (set at start, as the transports do). */
  const runKinds = (spans: [string, SpanKind, string?][]) => {
    for (const [name, kind, messageId] of spans) {
      const attributes = messageId ? { [ATTR_MESSAGING_MESSAGE_ID]: messageId } : {};
      provider.getTracer('test').startSpan(name, { kind, attributes }).end();
    }
  };
  const numbers = () =>
    exporter.getFinishedSpans().map((span) => ({
      name: span.name,
      stream: span.attributes[ATTR_EXPORT_STREAM],
      seq: span.attributes[ATTR_EXPORT_SEQ],
      entries: span.attributes[ATTR_EXPORT_ENTRIES],
      previousEntries: span.attributes[ATTR_EXPORT_PREVIOUS_ENTRIES],
    }));
  return { run, runKinds, numbers };
}

describe('export stream numbering', () => {
  it('numbers sampled spans 1, 2, 3… in start order on one stream, so a missing number is a span lost on its way', () => {
    const { run, numbers } = numberedProvider();
    run(['a', 'unsampled-b', 'c', 'd']);
    const exported = numbers();
    // SimpleSpanProcessor exports sampled spans only: the unsampled one took no number.
    expect(exported.map((s) => [s.name, s.seq])).toEqual([
      ['a', 1],
      ['c', 2],
      ['d', 3],
    ]);
    expect(new Set(exported.map((s) => s.stream)).size).toBe(1);
    expect(exported[0].stream).toMatch(/^[0-9a-f]{16}$/);
  });

  it('gives every processor (a process, a second provider) a stream of its own', () => {
    const first = numberedProvider();
    const second = numberedProvider();
    first.run(['a']);
    second.run(['b']);
    expect(first.numbers()[0].seq).toBe(1);
    expect(second.numbers()[0].seq).toBe(1);
    expect(first.numbers()[0].stream).not.toBe(second.numbers()[0].stream);
  });

  it('counts entry spans (consumer, server) on every span, and names on each entry the messages of the three entries before', () => {
    const { runKinds, numbers } = numberedProvider();
    runKinds([
      ['m1 process', SpanKind.CONSUMER, 'm1'],
      ['db', SpanKind.CLIENT],
      ['unsampled m9 process', SpanKind.CONSUMER, 'm9'],
      ['POST /orders', SpanKind.SERVER],
      ['m2 process', SpanKind.CONSUMER, 'm2'],
      ['m2 publish', SpanKind.PRODUCER, 'm3'],
      ['m3 process', SpanKind.CONSUMER, 'm3'],
      ['m4 process', SpanKind.CONSUMER, 'm4'],
    ]);
    // A lost `m2 process` would show as a hole in entries (2 → 4) named m2 by `m3 process`; a
    // lost `db` as a hole in seq only. The unsampled consumer is neither numbered nor counted.
    expect(numbers().map((s) => [s.name, s.seq, s.entries, s.previousEntries])).toEqual([
      ['m1 process', 1, 1, undefined],
      ['db', 2, 1, undefined],
      ['POST /orders', 3, 2, ['m1']],
      ['m2 process', 4, 3, ['', 'm1']],
      ['m2 publish', 5, 3, undefined],
      ['m3 process', 6, 4, ['m2', '', 'm1']],
      ['m4 process', 7, 5, ['m3', 'm2', '']],
    ]);
  });
});
