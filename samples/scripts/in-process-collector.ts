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
      // DETECTION_KEEP=1 keeps the store to look into afterwards (`onceflow --data-dir <dir>/store`).
      if (process.env.DETECTION_KEEP) console.log(`kept the collector's store in ${join(dir, 'store')}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}
