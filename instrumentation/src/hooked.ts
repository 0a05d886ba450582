/**
 * Which instrumentations run with Onceflow's hooks in this process. Their hooks build the
 * scope and the headers themselves, so the span processor and the propagator leave their
 * spans alone (doing the work once, not twice); spans of any other instrumentation get the
 * generic treatment (scope from the extracted headers, identity written by the propagator).
 */
const hooked = new Set<string>();

export const AMQPLIB_INSTRUMENTATION = '@opentelemetry/instrumentation-amqplib';
export const HTTP_INSTRUMENTATION = '@opentelemetry/instrumentation-http';

export function markHooked(instrumentationName: string): void {
  hooked.add(instrumentationName);
}

export function isHooked(span: unknown): boolean {
  if (hooked.size === 0) return false;
  const scope = (span as { instrumentationScope?: { name?: string } }).instrumentationScope;
  return scope?.name !== undefined && hooked.has(scope.name);
}
