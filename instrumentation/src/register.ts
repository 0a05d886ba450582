/**
 * `node --import @onceflow/instrumentation/register app.js`: registers OpenTelemetry's ESM
 * loader hook (so `import`ed libraries are patched, not only `require`d ones) and starts
 * Onceflow from the environment, before the application's first module loads.
 *
 * Environment: `ONCEFLOW_SERVICE_NAME` (or `OTEL_SERVICE_NAME`), `OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `ONCEFLOW_DEDUP_WINDOW_MS`, `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG`. An invalid value
 * is reported and left out: the application starts anyway.
 */
import { register } from 'node:module';
import { warnOnce } from './guard.js';
import { sampleRatioOf, startOnceflow } from './start.js';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const serviceName = process.env.ONCEFLOW_SERVICE_NAME ?? process.env.OTEL_SERVICE_NAME ?? 'unknown_service:node';
const handle = startOnceflow({ serviceName, sampleRatio: sampleRatioFromEnv(), dedupWindowMs: dedupWindowFromEnv() });

function sampleRatioFromEnv(): number {
  try {
    return sampleRatioOf(undefined);
  } catch (error) {
    warnOnce('env:sampler', `${(error as Error).message}; every span is kept (ratio 1).`);
    return 1;
  }
}

function dedupWindowFromEnv(): number | undefined {
  const text = process.env.ONCEFLOW_DEDUP_WINDOW_MS;
  if (text === undefined || text === '') return undefined;
  const ms = Number(text);
  if (Number.isInteger(ms) && ms >= 0) return ms;
  warnOnce(
    'env:dedup-window',
    `ONCEFLOW_DEDUP_WINDOW_MS=${text} is not a whole number of milliseconds; onceflow.dedup_window_ms is left out.`,
  );
  return undefined;
}

// A process that ends by itself (its event loop ran empty) flushes what is buffered first.
process.once('beforeExit', () => {
  void handle.shutdown().catch(() => undefined);
});

// Flush what is buffered when the process is asked to stop. If the application handles the
// signal itself, it decides when to exit; otherwise the signal's default action follows the flush.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void handle
      .shutdown()
      .catch(() => undefined)
      .finally(() => {
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
  });
}
