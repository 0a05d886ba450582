/** Shared set-up for the samples' tests: a system with fast retries and short leases. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { FaultPlan } from '../src/faults/faults.js';
import { type Database, openDatabase } from '../src/infra/database.js';
import { startSystem, type OrderSystem, type SystemOptions } from '../src/system.js';

export const COUPON_THRESHOLD = 20_000;

export interface TestSystem extends OrderSystem {
  dir: string;
}

let shared: Promise<Database> | undefined;

/**
 * One PGlite per test file, emptied before each system starts: creating a PGlite costs
 * seconds, resetting a schema milliseconds.
 */
export async function freshEmbeddedDatabase(): Promise<Database> {
  shared ??= openDatabase();
  const db = await shared;
  await db.query('DROP SCHEMA public CASCADE');
  await db.query('CREATE SCHEMA public');
  return db;
}

export async function closeEmbeddedDatabase(): Promise<void> {
  if (shared) await (await shared).close();
  shared = undefined;
}

export async function startTestSystem(plan: FaultPlan, options: Partial<SystemOptions> = {}): Promise<TestSystem> {
  const database = options.databaseUrl ? undefined : await freshEmbeddedDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'onceflow-samples-'));
  const system = await startSystem({
    plan,
    blobDir: join(dir, 'blobs'),
    truthPath: join(dir, 'ground-truth.jsonl'),
    retry: { immediate: 1, delaysMs: [30, 60] },
    visibilityTimeoutMs: 600,
    pollIntervalMs: 20,
    concurrency: 2,
    couponThresholdCents: COUPON_THRESHOLD,
    // Large invoices stay in the 100 KB range so tests write little.
    invoice: { inlineThresholdBytes: 64 * 1024, largeMinBytes: 100 * 1024, largeMaxBytes: 160 * 1024 },
    logger: pino({ level: 'silent' }),
    database,
    ...options,
  });
  return {
    ...system,
    dir,
    stop: async () => {
      await system.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
