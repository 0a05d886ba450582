import { trace, type Tracer } from '@opentelemetry/api';

export const TRACER_NAME = '@onceflow/instrumentation';
export const TRACER_VERSION = '0.1.0';

/** Looked up per use: the global tracer provider may be registered after this module loads. */
export function onceflowTracer(): Tracer {
  return trace.getTracer(TRACER_NAME, TRACER_VERSION);
}
