/**
 * Telemetry that loses spans, as a lossy pipeline does (a full buffer, a collector briefly
 * down): drops a share of spans at export, chosen by a seeded hash of the span id. The
 * collector must then say `unknown` where evidence is missing, never report a fault it cannot
 * see; the detection scenario `dropped-spans` measures that.
 */
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { draw } from '../faults/faults.js';

export interface SpanDrop {
  /** Share of spans dropped, 0..1. */
  share: number;
  seed: string;
}

export function droppingExporter(
  inner: SpanExporter,
  drop: SpanDrop,
  onDrop: (span: ReadableSpan) => void = () => undefined,
): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]) {
      const kept = spans.filter((span) => {
        const dropped = draw(drop.seed, 'drop-span', span.spanContext().spanId) < drop.share;
        if (dropped) onDrop(span);
        return !dropped;
      });
      inner.export(kept, done);
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}
