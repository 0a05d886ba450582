/**
 * `startOnceflow`: an OpenTelemetry NodeSDK with Onceflow's span processor, propagator,
 * sampler and instrumentation hooks, exporting over OTLP/HTTP. The one place that reads the environment.
 */
import { trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { DropReportingExporter } from './exporter.js';
import { setLogger, warnOnce } from './guard.js';
import { onceflowInstrumentations } from './instrumentations.js';
import { onceflowPropagator } from './propagator.js';
import { configureBodyDigest } from './body-digest.js';
import { onceflowSampler } from './sampler.js';
import { ATTR_SERVICE_NAME, RESOURCE_DEDUP_WINDOW_MS } from './semconv.js';
import { onceflowSpanProcessor } from './span-processor.js';
import type { OnceflowHandle, OnceflowOptions } from './types.js';

export const DEFAULT_ENDPOINT = 'http://localhost:4318';

let running: OnceflowHandle | undefined;

/** The OTLP traces URL: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else `<endpoint>/v1/traces`. */
export function tracesUrl(endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (!endpoint && env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? DEFAULT_ENDPOINT;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * The root sampling ratio: the option, else `OTEL_TRACES_SAMPLER_ARG` when `OTEL_TRACES_SAMPLER`
 * asks for a ratio sampler, else 1. A ratio outside 0–1 is refused with an error.
 */
export function sampleRatioOf(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv =
    /traceidratio$/.test(env.OTEL_TRACES_SAMPLER ?? '') && env.OTEL_TRACES_SAMPLER_ARG ? Number(env.OTEL_TRACES_SAMPLER_ARG) : undefined;
  const ratio = option ?? fromEnv ?? 1;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    const source =
      option === undefined ? `OTEL_TRACES_SAMPLER_ARG=${String(env.OTEL_TRACES_SAMPLER_ARG)}` : `sampleRatio ${String(option)}`;
    throw new RangeError(`${source}: the sampling ratio must be a number from 0 to 1`);
  }
  return ratio;
}

/** Resource attributes: the application's, `service.name`, and the dedup window when given. */
export function resourceAttributesOf(options: OnceflowOptions): Record<string, string | number | boolean> {
  const attributes = { ...options.resourceAttributes, [ATTR_SERVICE_NAME]: options.serviceName };
  const window = options.dedupWindowMs;
  if (window === undefined) return attributes;
  if (!Number.isInteger(window) || window < 0) {
    throw new RangeError(`dedupWindowMs must be a non-negative whole number of milliseconds, got ${String(window)}`);
  }
  return { ...attributes, [RESOURCE_DEDUP_WINDOW_MS]: window };
}

/**
 * Starts tracing for this process. Call it before the application loads amqplib, express or
 * http (OpenTelemetry patches modules as they load). A second call returns the running handle.
 * Invalid options (a sampling ratio outside 0–1, a negative dedup window or digest limit)
 * throw a `RangeError` before anything starts.
 */
export function startOnceflow(options: OnceflowOptions): OnceflowHandle {
  if (running) {
    warnOnce('start:twice', 'startOnceflow was called more than once; the first configuration stays in effect.');
    return running;
  }
  const ratio = sampleRatioOf(options.sampleRatio);
  const resource = resourceFromAttributes(resourceAttributesOf(options));
  configureBodyDigest(options.bodyDigest);
  setLogger(options.logger);
  const url = tracesUrl(options.endpoint);
  const exporter: SpanExporter = new DropReportingExporter(
    options.exporter ?? new OTLPTraceExporter({ url }),
    options.exporter ? 'the configured exporter' : url,
  );
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    resource,
    sampler: onceflowSampler({ ratio }),
    spanProcessors: [onceflowSpanProcessor(), ...(options.spanProcessors ?? []), new BatchSpanProcessor(exporter)],
    textMapPropagator: onceflowPropagator(),
    instrumentations: onceflowInstrumentations(options.instrumentations),
    // Onceflow exports traces only. NodeSDK would otherwise start OTLP metric and log
    // exporters towards the same endpoint; they stay available through the OTEL_* variables.
    ...(process.env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
    ...(process.env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  // Neither call rejects: a failed export is already reported (once) by the exporter, and
  // an application awaiting a flush on its way out must not crash because of it.
  const handle: OnceflowHandle = {
    forceFlush: () => flushTracerProvider().catch(() => undefined),
    shutdown: async () => {
      if (running === handle) running = undefined;
      await sdk.shutdown().catch(() => undefined);
    },
  };
  running = handle;
  return handle;
}

/** NodeSDK has no public forceFlush: flush through the global tracer provider it registered. */
async function flushTracerProvider(): Promise<void> {
  const provider = trace.getTracerProvider() as {
    forceFlush?: () => Promise<void>;
    getDelegate?: () => { forceFlush?: () => Promise<void> };
  };
  const target = provider.getDelegate?.() ?? provider;
  await target.forceFlush?.();
}
