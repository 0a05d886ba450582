/**
 * One process, several services: every span is exported under the `service.name` of the
 * service that produced it, and the Onceflow attributes detection needs are on the spans.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanKind } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_OUTCOME,
  ATTR_SERVICE_NAME,
} from '@onceflow/instrumentation/semconv';
import { describe, expect, it } from 'vitest';
import { SERVICES } from '../src/messages.js';
import { startMultiServiceTelemetry } from '../src/telemetry/multi-service.js';
import { runAs } from '../src/telemetry/service-scope.js';

describe('multi-service telemetry in one process', () => {
  it('exports each span under the service that produced it', async () => {
    const exporters = new Map<string, InMemorySpanExporter>();
    const telemetry = startMultiServiceTelemetry({
      services: [...SERVICES, 'load-generator'],
      fallbackService: 'unattributed',
      exporterFor: (service) => {
        const exporter = new InMemorySpanExporter();
        exporters.set(service, exporter);
        return exporter;
      },
    });
    // Loaded after tracing starts, as an instrumented application must be (express, http).
    const { startTestSystem, closeEmbeddedDatabase } = await import('./helpers.js');
    const { makeOrder, placeOrder } = await import('../src/load-generator.js');
    const { waitUntilQuiet } = await import('../src/verify.js');
    const system = await startTestSystem({ seed: 'telemetry' }, { visibilityTimeoutMs: 10_000 });
    try {
      await runAs('load-generator', () => placeOrder(system.shopUrl!, makeOrder('telemetry', 1)));
      expect(await waitUntilQuiet(system, 30_000)).toBe(true);
      await telemetry.forceFlush();
      const spans: ReadableSpan[] = [...exporters.values()].flatMap((e) => e.getFinishedSpans());
      const serviceOf = (s: ReadableSpan) => s.resource.attributes[ATTR_SERVICE_NAME];
      // Every span was attributed to a real service.
      expect(spans.filter((s) => serviceOf(s) === 'unattributed').map((s) => s.name)).toEqual([]);
      // Each consumer span belongs to the endpoint owning the queue, with an outcome recorded.
      const consumers = spans.filter((s) => s.kind === SpanKind.CONSUMER);
      expect(consumers.length).toBeGreaterThanOrEqual(8);
      for (const span of consumers) {
        expect(serviceOf(span)).toBe(span.attributes[ATTR_MESSAGING_DESTINATION_NAME]);
        expect(span.attributes[ATTR_OUTCOME]).toBe('processed');
      }
      // Producers: shop-api sends SubmitOrder, orders and billing emit the next steps, and so on.
      const producers = spans.filter((s) => s.kind === SpanKind.PRODUCER);
      const producing = new Set(producers.map(serviceOf));
      for (const service of ['shop-api', 'orders', 'billing', 'shipping', 'invoicing', 'loyalty']) expect(producing).toContain(service);
      for (const service of producing)
        expect(['shop-api', 'orders', 'billing', 'shipping', 'invoicing', 'marketing', 'loyalty']).toContain(service);
      for (const span of producers) expect(span.attributes[ATTR_MESSAGING_MESSAGE_ID]).toBeTruthy();
      // HTTP: billing calls the payment provider, which serves the calls as itself.
      const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
      expect(new Set(servers.map(serviceOf))).toEqual(new Set(['shop-api', 'payment-provider']));
      const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
      expect(new Set(clients.map(serviceOf))).toEqual(new Set(['load-generator', 'billing']));
    } finally {
      await system.stop();
      await telemetry.shutdown();
      await closeEmbeddedDatabase();
    }
  }, 120_000);
});
