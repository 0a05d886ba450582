/**
 * Structured logging for the collector: one pino logger created by the CLI and passed down
 * (the app, the receiver, the indexer and the stores take a `Logger`; nothing creates its own).
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** Where JSON lines go; stdout by default. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = { level: options.level ?? 'info', base: { name: 'onceflow' } };
  return options.destination ? pino(base, options.destination) : pino(base);
}

/** A logger that writes nothing: for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
