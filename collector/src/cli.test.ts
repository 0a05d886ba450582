/**
 * The `onceflow` command as a process: usage errors exit 2, `--help` prints the usage, and
 * `serve` prints where it listens, stores what it acknowledged, and on SIGTERM stops cleanly
 * with everything acknowledged still in the store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbStore } from './store/duckdb/duckdb-store.js';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

function finish(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const dataDir = mkdtempSync(join(tmpdir(), 'onceflow-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// Each case starts node + tsx (seconds on a busy machine).
describe('onceflow command', { timeout: 90_000 }, () => {
  it('exits 2 with a clear message for a bad value', async () => {
    const result = await finish(run(['serve', '--port', 'eighty']));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port must be a port number from 0 to 65535, got "eighty"');
    const fromEnv = await finish(run(['serve'], { ONCEFLOW_RETENTION: 'forever' }));
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('ONCEFLOW_RETENTION must be a duration');
  });

  it('refuses to bind a non-loopback address without tokens, saying why', async () => {
    const result = await finish(run(['serve', '--host', '0.0.0.0', '--data', dataDir]));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /refusing to bind 0\.0\.0\.0 without --ingest-token and --api-token: other machines can reach that address/,
    );
    expect(result.stderr).toContain('--insecure');
  });

  it('prints the usage', async () => {
    const result = await finish(run(['--help']));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('onceflow serve');
    expect(result.stdout).toContain('ONCEFLOW_CLICKHOUSE_URL');
  });

  it('runs as the installed bin, an executable whose shebang passes Node flags', async () => {
    // npm links bin/onceflow.js and the start script and images execute it directly; its
    // `env -S node <flags>` shebang must work here. Needs the build (`npm test` builds first).
    const bin = fileURLToPath(new URL('../bin/onceflow.js', import.meta.url));
    const result = await finish(spawn(bin, ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('onceflow serve');
  });

  it('serves, and on SIGTERM stops with every acknowledged span stored', async () => {
    const child = run(['serve', '--port', '0', '--otlp-port', '0', '--data', dataDir, '--log-level', 'warn']);
    const done = finish(child);
    const banner = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stderr!.on('data', (chunk) => {
        text += chunk;
        if (text.includes('OTLP/HTTP traces:')) resolve(text);
      });
      child.on('close', () => reject(new Error(`exited early: ${text}`)));
    });
    const apiUrl = /Dashboard and API:\s+(http:\/\/\S+)/.exec(banner)![1];
    const otlpUrl = /OTLP\/HTTP traces:\s+(http:\/\/\S+)\/v1\/traces/.exec(banner)![1];
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const startNs = String(BigInt(Date.now()) * 1_000_000n);
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop-api' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  name: 'POST /orders',
                  kind: 2,
                  startTimeUnixNano: startNs,
                  endTimeUnixNano: startNs,
                  attributes: [{ key: 'messaging.message.conversation_id', value: { stringValue: 'conv-cli' } }],
                },
              ],
            },
          ],
        },
      ],
    };
    const response = await fetch(`${otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    expect((await (await fetch(`${apiUrl}/api/health`)).json()).status).toBe('ok');

    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
    const store = new DuckDbStore({ dataDir });
    await store.init();
    try {
      expect(await store.spanCount()).toBe(1);
      expect((await store.spansOfConversation('conv-cli', 10)).map((span) => span.spanId)).toEqual(['eee19b7ec3c1b174']);
    } finally {
      await store.close();
    }
  });
});
