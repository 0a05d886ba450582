import { SamplingDecision, type Sampler } from '@opentelemetry/sdk-trace-base';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ATTR_EXPORT_SEQ, ATTR_EXPORT_STREAM } from './semconv.js';
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
  const numbers = () =>
    exporter.getFinishedSpans().map((span) => ({
      name: span.name,
      stream: span.attributes[ATTR_EXPORT_STREAM],
      seq: span.attributes[ATTR_EXPORT_SEQ],
    }));
  return { run, numbers };
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
});
