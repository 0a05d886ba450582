/**
 * Keeps Onceflow out of the host's way: every hook runs inside `guard`, and whatever goes
 * wrong is reported once per cause, never thrown into the application.
 */
import { diag } from '@opentelemetry/api';

export interface OnceflowLogger {
  warn(message: string): void;
}

const consoleLogger: OnceflowLogger = { warn: (message) => console.warn(`[onceflow] ${message}`) };
let logger: OnceflowLogger = consoleLogger;
const reported = new Set<string>();

export function setLogger(next: OnceflowLogger | undefined): void {
  logger = next ?? consoleLogger;
}

/** Logs `message` the first time `key` is reported; later reports with the same key are dropped. */
export function warnOnce(key: string, message: string): void {
  if (reported.has(key)) return;
  reported.add(key);
  try {
    diag.warn(`onceflow: ${message}`);
    logger.warn(message);
  } catch {
    // A broken logger must not break the host either.
  }
}

/** Lets `key` be reported again (after the condition it described cleared, e.g. export recovered). */
export function forgetWarning(key: string): void {
  reported.delete(key);
}

/** Runs `fn`; an exception is logged once for `name` and `fallback` is returned instead. */
export function guard<T>(name: string, fn: () => T, fallback?: T): T {
  try {
    return fn();
  } catch (error) {
    reportHookError(name, error);
    return fallback as T;
  }
}

/** For hot paths that catch inline (no closure per call): report like `guard` does. */
export function reportHookError(name: string, error: unknown): void {
  warnOnce(
    `hook:${name}`,
    `${name} failed and was skipped (the application continues; later failures are not logged): ${describeError(error)}`,
  );
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
