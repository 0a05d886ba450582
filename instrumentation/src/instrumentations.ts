/** The maintained OpenTelemetry instrumentations, configured with Onceflow's hooks. */
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { amqplibConfig } from './amqplib.js';
import { httpConfig, undiciConfig } from './http.js';
import type { OnceflowInstrumentationsConfig } from './types.js';

function configOf<T extends object>(value: boolean | T | undefined): T | undefined {
  if (value === false) return undefined;
  return value === true || value === undefined ? ({} as T) : value;
}

/**
 * amqplib, http, express and undici instrumentations with Onceflow's hooks. Each is on unless
 * set to `false`; an object is that instrumentation's own config (its hooks run after ours).
 */
export function onceflowInstrumentations(config: OnceflowInstrumentationsConfig = {}): Instrumentation[] {
  const list: Instrumentation[] = [];
  const amqplib = configOf(config.amqplib);
  if (amqplib) list.push(new AmqplibInstrumentation(amqplibConfig(amqplib)));
  const http = configOf(config.http);
  if (http) list.push(new HttpInstrumentation(httpConfig(http)));
  const express = configOf(config.express);
  if (express) list.push(new ExpressInstrumentation(express));
  const undici = configOf(config.undici);
  if (undici) list.push(new UndiciInstrumentation(undiciConfig(undici)));
  return list;
}
