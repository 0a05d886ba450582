/**
 * With the collector down the service runs on: exports fail, the spans are dropped, and
 * Onceflow says so once (not once per batch).
 */
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { markProcessed, startOnceflow, tracesUrl, withHandle, withSend } from './index.js';

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
