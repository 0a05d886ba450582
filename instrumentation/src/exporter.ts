/**
 * Wraps the span exporter so an unreachable collector is reported once and never stops the
 * service: spans that cannot be exported are dropped, and a later successful export is
 * reported too (then a new outage is reported again).
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { describeError, forgetWarning, warnOnce } from './guard.js';

const KEY = 'export';

export class DropReportingExporter implements SpanExporter {
  private failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly target: string,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    try {
      this.inner.export(spans, (result) => {
        this.note(result, spans.length);
        resultCallback(result);
      });
    } catch (error) {
      const result: ExportResult = { code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) };
      this.note(result, spans.length);
      resultCallback(result);
    }
  }

  private note(result: ExportResult, count: number): void {
    if (result.code === ExportResultCode.SUCCESS) {
      if (this.failing) {
        this.failing = false;
        forgetWarning(KEY);
        console.warn(`[onceflow] exporting spans to ${this.target} works again`);
      }
      return;
    }
    this.failing = true;
    warnOnce(
      KEY,
      `could not export ${count} spans to ${this.target} (${describeError(result.error)}); they are dropped and the service keeps running. Further failures are not logged until an export succeeds.`,
    );
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
