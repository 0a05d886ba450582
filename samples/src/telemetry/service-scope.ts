/**
 * Which service is running the current code, carried in OpenTelemetry context. In the
 * one-process demo every service shares one process, so spans are routed to the tracer
 * provider of the service whose scope they start in (see `multi-service.ts`).
 */
import { context, createContextKey, type Context } from '@opentelemetry/api';

export const SERVICE_KEY = createContextKey('onceflow.samples.service');

export function runAs<T>(service: string, fn: () => T): T {
  return context.with(context.active().setValue(SERVICE_KEY, service), fn);
}

export function serviceIn(ctx: Context): string | undefined {
  return ctx.getValue(SERVICE_KEY) as string | undefined;
}

const ports = new Map<number, string>();

/** Records that `service` serves HTTP on `port`, so its server spans can be attributed. */
export function bindServicePort(port: number, service: string): void {
  ports.set(port, service);
}

export function serviceOnPort(port: unknown): string | undefined {
  return typeof port === 'number' ? ports.get(port) : undefined;
}
