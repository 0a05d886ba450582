import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { droppingExporter } from './dropping-exporter.js';

function exportSpans(share: number, seed: string, count: number) {
  const kept = new InMemorySpanExporter();
  const dropped: ReadableSpan[] = [];
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(droppingExporter(kept, { share, seed }, (s) => dropped.push(s)))],
  });
  const tracer = provider.getTracer('test');
  for (let i = 0; i < count; i++) tracer.startSpan(`span ${i}`).end();
  return { kept: kept.getFinishedSpans(), dropped };
}

describe('droppingExporter', () => {
  it.each([
    { share: 0, min: 0, max: 0 },
    { share: 0.05, min: 0.035, max: 0.065 },
    { share: 1, min: 1, max: 1 },
  ])('drops about $share of the spans and passes the rest on', ({ share, min, max }) => {
    const { kept, dropped } = exportSpans(share, 'seed', 2000);
    expect(kept.length + dropped.length).toBe(2000);
    expect(dropped.length / 2000).toBeGreaterThanOrEqual(min);
    expect(dropped.length / 2000).toBeLessThanOrEqual(max);
    const keptIds = new Set(kept.map((s) => s.spanContext().spanId));
    expect(dropped.some((s) => keptIds.has(s.spanContext().spanId))).toBe(false);
  });
});
