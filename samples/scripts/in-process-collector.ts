/** Starts an in-process collector (OTLP receiver, DuckDB store, flow indexer, API) for detection runs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, silentLogger, startCollector } from '../../collector/src/index.js';
import type { CollectorUnderTest } from '../src/detection/measure.js';

export interface RunningTestCollector extends CollectorUnderTest {
  dir: string;
  close(): Promise<void>;
}

export async function startTestCollector(quietPeriodMs = 3_000): Promise<RunningTestCollector> {
  const dir = mkdtempSync(join(tmpdir(), 'onceflow-detection-'));
  const collector = await startCollector(
    { ...DEFAULT_CONFIG, port: 0, otlpPort: 0, dataDir: join(dir, 'store'), quietPeriodMs, retentionMs: 0, logLevel: 'silent' },
    { logger: silentLogger() },
  );
  return {
    dir,
    otlpUrl: collector.otlpUrl,
    apiUrl: collector.apiUrl,
    quietPeriodMs,
    close: async () => {
      await collector.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
