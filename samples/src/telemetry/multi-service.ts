/**
 * Telemetry for several services sharing one process (the demo). An OpenTelemetry resource
 * belongs to a tracer provider, and a process has one global provider, so this registers a
 * routing provider in front of one real `BasicTracerProvider` per service, each with its own
 * `service.name` resource, Onceflow's span processor and an OTLP exporter. A span goes to the
 * provider of the service it starts in:
 *   1. the service of its local parent span (children stay with their parent);
 *   2. the service scope in the context it starts from (`runAs`);
 *   3. for an HTTP server span, the service listening on its port (instrumentation-http
 *      starts server spans from a fresh context);
 *   4. the service scope of the active context (a consumer span `withHandle` starts from the
 *      producer's extracted context, inside the consuming service's loop);
 *   5. the fallback service.
 * Every automatic instrumentation (http, express, undici, amqplib) and Onceflow's own spans
 * go through the global provider, so all of them are attributed honestly, each to its service.
 */
import {
  context,
  propagation,
  SpanKind,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
  type Attributes,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  onceflowInstrumentations,
  onceflowPropagator,
  onceflowSpanProcessor,
  tracesUrl,
  type OnceflowInstrumentationsConfig,
} from '@onceflow/instrumentation';
import { ATTR_SERVER_PORT, ATTR_SERVICE_NAME } from '@onceflow/instrumentation/semconv';
import { droppingExporter, type SpanDrop } from './dropping-exporter.js';
import { serviceIn, serviceOnPort } from './service-scope.js';

export interface MultiServiceTelemetryOptions {
  services: readonly string[];
  /** Spans outside any service scope go here. */
  fallbackService: string;
  /** OTLP/HTTP base URL. */
  endpoint?: string;
  /** One exporter per service (tests pass in-memory exporters); default OTLP/HTTP protobuf. */
  exporterFor?: (service: string) => SpanExporter;
  instrumentations?: OnceflowInstrumentationsConfig;
  /** Resource attributes a service declares besides its name (e.g. its dedup window). */
  resourceOf?: (service: string) => Attributes;
  /** Drop a share of spans at export (a lossy pipeline, for detection scenarios). */
  drop?: SpanDrop;
}

export interface MultiServiceTelemetry {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

const spanService = new WeakMap<Span, string>();

/**
 * Spans one service may have waiting for export. The default (2,048) overflows when a busy
 * machine runs the whole shop and the collector in one process, and a span dropped that way
 * looks like a message never delivered; a dropped share is a scenario of its own (`dropSpans`).
 */
const SPAN_QUEUE = 262_144;

class RoutingTracer implements Tracer {
  constructor(
    private readonly tracerOf: (service: string) => Tracer,
    private readonly fallback: string,
  ) {}

  private serviceFor(options: SpanOptions, ctx: Context): string {
    const parent = trace.getSpan(ctx);
    return (
      (parent && spanService.get(parent)) ??
      serviceIn(ctx) ??
      (options.kind === SpanKind.SERVER ? serviceOnPort(options.attributes?.[ATTR_SERVER_PORT]) : undefined) ??
      serviceIn(context.active()) ??
      this.fallback
    );
  }

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    const service = this.serviceFor(options, ctx);
    const span = this.tracerOf(service).startSpan(name, options, ctx);
    spanService.set(span, service);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...args: unknown[]): ReturnType<F> {
    const fn = args[args.length - 1] as F;
    const options = (args.length >= 2 ? args[0] : {}) as SpanOptions;
    const ctx = (args.length >= 3 ? args[1] : context.active()) as Context;
    const span = this.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), fn as (s: Span) => ReturnType<F>, undefined, span);
  }
}

export function startMultiServiceTelemetry(options: MultiServiceTelemetryOptions): MultiServiceTelemetry {
  const url = tracesUrl(options.endpoint);
  const providers = new Map<string, BasicTracerProvider>();
  const providerOf = (service: string) => {
    let provider = providers.get(service);
    if (!provider) {
      const target = options.exporterFor?.(service) ?? new OTLPTraceExporter({ url });
      const exporter = options.drop && options.drop.share > 0 ? droppingExporter(target, options.drop) : target;
      provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ ...options.resourceOf?.(service), [ATTR_SERVICE_NAME]: service }),
        spanProcessors: [
          onceflowSpanProcessor(),
          new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000, maxQueueSize: SPAN_QUEUE }),
        ],
      });
      providers.set(service, provider);
    }
    return provider;
  };
  for (const service of options.services) providerOf(service);

  const tracers = new Map<string, RoutingTracer>();
  const router: TracerProvider = {
    getTracer(name, version, tracerOptions) {
      const key = `${name}@${version ?? ''}`;
      let tracer = tracers.get(key);
      if (!tracer) {
        tracer = new RoutingTracer((service) => providerOf(service).getTracer(name, version, tracerOptions), options.fallbackService);
        tracers.set(key, tracer);
      }
      return tracer;
    },
  };

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(onceflowPropagator());
  trace.setGlobalTracerProvider(router);
  const unregister = registerInstrumentations({ instrumentations: onceflowInstrumentations(options.instrumentations) });

  const all = (fn: (p: BasicTracerProvider) => Promise<void>) => Promise.allSettled([...providers.values()].map(fn)).then(() => undefined);
  return {
    forceFlush: () => all((p) => p.forceFlush()),
    async shutdown() {
      unregister();
      await all((p) => p.shutdown());
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
