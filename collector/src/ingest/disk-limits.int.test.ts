/**
 * Running out of room: the ingest log on a full disk (a 2 MiB tmpfs this test mounts and
 * unmounts; needs root) answers 503 with Retry-After, loses nothing it acknowledged, and
 * accepts again once the store has taken the log and its segments are deleted. And a DuckDB
 * file held by another process stops the collector at start with a message saying so.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireServer } from '@onceflow/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { startCollector } from '../app.js';
import { DEFAULT_CONFIG } from '../config.js';
import { silentLogger } from '../logger.js';
import type { SpanRow } from '../model/span.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { openIngestLog } from './log/ingest-log.js';
import { createOtlpReceiver } from './receiver.js';
import { runCollectorToExit } from '../../test/ingest/collector-process.js';
import { missingOrDoubled, postTraces, traceRequest, type TraceRequest } from '../../test/ingest/span-load.js';
import { Agent } from 'node:http';

const root = mkdtempSync(join(tmpdir(), 'onceflow-disk-'));
const tmpfs = join(root, 'tmpfs');
mkdirSync(tmpfs);
let mounted = false;

const canMount = await requireServer('a tmpfs mount (root)', async () => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tmpfs], { stdio: 'pipe' });
  mounted = true;
});

afterAll(() => {
  if (mounted) execFileSync('umount', [tmpfs]);
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!canMount)('disk full', () => {
  it('answers 503 with Retry-After, keeps what it acknowledged, and recovers when space returns', { timeout: 60_000 }, async () => {
    const store = new DuckDbStore({ dataDir: join(root, 'store') });
    await store.init();
    let open = false;
    const gated = {
      insertSpans: async (spans: SpanRow[]) => (open ? store.insertSpans(spans) : Promise.reject(new Error('held by the test'))),
    };
    const log = await openIngestLog({
      dir: join(tmpfs, 'log'),
      spoolMaxBytes: 1 << 30,
      segmentBytes: 256 * 1024,
      maxPayloadBytes: 1 << 20,
    });
    const receiver = createOtlpReceiver({ store: gated, log, retryAfterSeconds: 2, feeding: { retryDelayMs: 10, maxRetryDelayMs: 50 } });
    await receiver.listen(0);
    const otlpUrl = `http://127.0.0.1:${receiver.port()}`;
    const agent = new Agent({ keepAlive: true });
    const acknowledged: TraceRequest[] = [];
    try {
      let refusal = null;
      for (let i = 0; i < 400 && !refusal; i++) {
        const trace = traceRequest(40, 400);
        const answer = await postTraces(agent, otlpUrl, trace.body);
        if (answer.status === 200) acknowledged.push(trace);
        else refusal = answer;
      }
      expect(refusal).toEqual({ status: 503, retryAfter: '2' });
      expect(acknowledged.length).toBeGreaterThan(10);
      // Still full: refused again, nothing half-written stays behind.
      expect((await postTraces(agent, otlpUrl, traceRequest(40, 400).body)).status).toBe(503);

      open = true;
      await receiver.whenStored();
      let recovered = false;
      for (let i = 0; i < 100 && !recovered; i++) {
        const trace = traceRequest(40, 400);
        if ((await postTraces(agent, otlpUrl, trace.body)).status === 200) {
          acknowledged.push(trace);
          recovered = true;
        } else await sleep(100);
      }
      expect(recovered).toBe(true);
      await receiver.whenStored();
      expect(await missingOrDoubled(store, acknowledged)).toEqual([]);
    } finally {
      agent.destroy();
      open = true;
      await receiver.close();
      await store.close();
    }
    // The log the full disk left behind reads back whole: no torn tail to cut.
    const warnings: string[] = [];
    const reopened = await openIngestLog({
      dir: join(tmpfs, 'log'),
      spoolMaxBytes: 1 << 30,
      maxPayloadBytes: 1 << 20,
      logger: {
        info: () => undefined,
        error: () => undefined,
        warn: (_fields: unknown, message: string) => void warnings.push(message),
      } as never,
    });
    expect(reopened.lag(Date.now()).spans).toBe(0);
    await reopened.close();
    expect(warnings).toEqual([]);
  });
});

describe('a DuckDB file locked by another process', () => {
  it('stops the collector at start with a message saying who holds it and what to do', { timeout: 90_000 }, async () => {
    const dataDir = join(root, 'locked');
    mkdirSync(dataDir);
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DuckDBInstance } from '@duckdb/node-api'; await DuckDBInstance.create(${JSON.stringify(join(dataDir, 'onceflow.duckdb'))}); console.log('holding'); setInterval(() => {}, 1000);`,
      ],
      { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((resolve) => holder.stdout!.once('data', resolve));
      const message = new RegExp(
        `the DuckDB file .*onceflow\\.duckdb is locked by process ${holder.pid}: another collector or DuckDB client has it open\\. Stop that process, or give this collector its own --data directory`,
      );
      await expect(startCollector({ ...DEFAULT_CONFIG, port: 0, otlpPort: 0, dataDir }, { logger: silentLogger() })).rejects.toThrow(
        message,
      );
      const cli = await runCollectorToExit(['--data', dataDir, '--log-level', 'silent']);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(message);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
