/**
 * With the collector down the service runs on: exports fail, the spans are dropped, and
 * Onceflow says so once (not once per batch).
 */
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ATTR_SERVICE_NAME, RESOURCE_DEDUP_WINDOW_MS, markProcessed, startOnceflow, tracesUrl, withHandle, withSend } from './index.js';
import { resourceAttributesOf, sampleRatioOf } from './start.js';

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Fail fast: the exporter would otherwise retry an unreachable collector for ten seconds per batch.
process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = '1000';
const warnings: string[] = [];
const endpoint = `http://127.0.0.1:${await closedPort()}`;
const onceflow = startOnceflow({ serviceName: 'collector-down', endpoint, logger: { warn: (m) => warnings.push(m) } });
afterAll(() => onceflow.shutdown());

describe('collector unreachable', () => {
  it('keeps handling messages, drops the spans, and reports it once', async () => {
    for (let round = 0; round < 2; round++) {
      let headers: Record<string, string> = {};
      await withSend({ system: 'test', destination: 'q', messageType: 'Ping' }, async (h) => {
        headers = h;
      });
      const result = await withHandle({ system: 'test', destination: 'q', headers }, async (message) => {
        markProcessed();
        return message.messageType;
      });
      expect(result).toBe('Ping');
      await expect(onceflow.forceFlush()).resolves.toBeUndefined();
    }
    const exportWarnings = warnings.filter((w) => w.startsWith('could not export'));
    expect(exportWarnings).toHaveLength(1);
    expect(exportWarnings[0]).toContain(`${endpoint}/v1/traces`);
    expect(exportWarnings[0]).toContain('the service keeps running');
  }, 60_000);

  it('a second startOnceflow keeps the first configuration and says so', () => {
    expect(startOnceflow({ serviceName: 'other' })).toBe(onceflow);
    expect(warnings.some((w) => w.includes('more than once'))).toBe(true);
  });
});

describe('tracesUrl', () => {
  it.each([
    [undefined, {}, 'http://localhost:4318/v1/traces'],
    ['http://collector:4318/', {}, 'http://collector:4318/v1/traces'],
    [undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318' }, 'http://env:4318/v1/traces'],
    [undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://env:4318/custom' }, 'http://env:4318/custom'],
    ['http://explicit:1', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://env:4318/custom' }, 'http://explicit:1/v1/traces'],
  ])('endpoint %s with env %j → %s', (endpointOption, env, expected) => {
    expect(tracesUrl(endpointOption, env)).toBe(expected);
  });
});

describe('sampleRatioOf', () => {
  it.each([
    [undefined, {}, 1],
    [0, {}, 0],
    [0.25, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }, 0.25],
    [undefined, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }, 0.5],
    [undefined, { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }, 0],
    [undefined, { OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: '0.5' }, 1],
  ])('option %s with env %j → %s', (option, env, expected) => {
    expect(sampleRatioOf(option, env)).toBe(expected);
  });

  it.each([
    [1.5, {}, /sampleRatio 1.5/],
    [Number.NaN, {}, /sampleRatio NaN/],
    [undefined, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' }, /OTEL_TRACES_SAMPLER_ARG=half/],
  ])('refuses %s (env %j) with a clear error', (option, env, message) => {
    expect(() => sampleRatioOf(option, env)).toThrow(message);
  });
});

describe('resourceAttributesOf', () => {
  it('adds onceflow.dedup_window_ms when given, next to service.name and the application attributes', () => {
    expect(resourceAttributesOf({ serviceName: 'billing', resourceAttributes: { env: 'prod' }, dedupWindowMs: 86_400_000 })).toEqual({
      env: 'prod',
      [ATTR_SERVICE_NAME]: 'billing',
      [RESOURCE_DEDUP_WINDOW_MS]: 86_400_000,
    });
    expect(resourceAttributesOf({ serviceName: 'billing' })).toEqual({ [ATTR_SERVICE_NAME]: 'billing' });
  });

  it.each([-1, 1.5, Number.NaN])('refuses a dedup window of %s', (dedupWindowMs) => {
    expect(() => resourceAttributesOf({ serviceName: 'billing', dedupWindowMs })).toThrow(
      /dedupWindowMs must be a non-negative whole number/,
    );
  });
});
