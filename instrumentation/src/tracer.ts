import { createRequire } from 'node:module';
import { trace, type Tracer } from '@opentelemetry/api';

export const TRACER_NAME = '@onceflow/instrumentation';
/** The package's own version (src/ and dist/ both sit beside package.json), so a release cannot forget it. */
export const TRACER_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Looked up per use: the global tracer provider may be registered after this module loads. */
export function onceflowTracer(): Tracer {
  return trace.getTracer(TRACER_NAME, TRACER_VERSION);
}
