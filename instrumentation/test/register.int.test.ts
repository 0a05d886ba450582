/**
 * `node --import @onceflow/instrumentation/register` starts Onceflow for ES-module and
 * CommonJS applications alike: express is patched (the ESM one only through the loader
 * hook), outgoing calls carry the conversation, and spans reach the OTLP endpoint.
 * Runs the built package (`dist/`), as a user would; builds it first.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

let echoUrl = '';
let otlpUrl = '';
const exports: Buffer[] = [];
const servers: Server[] = [];

function listen(server: Server): Promise<string> {
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

beforeAll(async () => {
  await run(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', packageDir]);
  echoUrl = await listen(createServer((req, res) => res.end(JSON.stringify(req.headers))));
  otlpUrl = await listen(
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/traces') exports.push(Buffer.concat(chunks));
        res.setHeader('content-type', 'application/x-protobuf');
        res.end();
      });
    }),
  );
}, 180_000);

afterAll(() => {
  for (const server of servers) server.close();
});

describe.each([
  ['an ES-module application', 'esm-app.mjs', 'esm-key'],
  ['a CommonJS application', 'cjs-app.cjs', 'cjs-key'],
])('node --import @onceflow/instrumentation/register: %s', (_name, file, key) => {
  it('is instrumented and exports its spans', async () => {
    const before = exports.length;
    const { stdout } = await run(process.execPath, ['--import', '@onceflow/instrumentation/register', fixtures + file], {
      cwd: fixtures,
      env: { ...process.env, ECHO_URL: echoUrl, OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, ONCEFLOW_SERVICE_NAME: `fixture-${key}` },
      timeout: 60_000,
    }).catch((error: { stdout?: string; stderr?: string; code?: unknown; signal?: unknown }) => {
      // The app ends itself with SIGTERM (after the flush), which execFile reports as an error.
      if (error.signal === 'SIGTERM' && error.stdout) return { stdout: error.stdout };
      throw new Error(`fixture failed: ${error.stderr ?? String(error)}`);
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { expressPatched: boolean; echoed: Record<string, string> };
    expect(report.expressPatched).toBe(true);
    expect(report.echoed['onceflow-conversation-id']).toBeTruthy();
    expect(report.echoed['onceflow-idempotency-key']).toBe(key);
    expect(report.echoed.traceparent).toBeDefined();

    const sent = Buffer.concat(exports.slice(before)).toString('latin1');
    expect(sent, 'spans were exported over OTLP/protobuf').toContain(`fixture-${key}`);
    expect(sent, 'express was patched and traced').toContain('@opentelemetry/instrumentation-express');
    expect(sent).toContain(report.echoed['onceflow-conversation-id']);
  });
});
