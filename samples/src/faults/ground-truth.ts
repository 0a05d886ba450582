/**
 * The ground truth: every fault the system injects, appended as one JSON line, so detection
 * can be measured against what really happened. Kinds are the collector's anomaly kinds
 * where one applies; the rest (`slow-consumer`, `http-retry`) are named after the fault.
 */
import { appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
/** Every anomaly kind of the collector (`collector/src/contract/anomalies.ts`; `ground-truth.test.ts` keeps the two in step). */
export const DETECTABLE_KINDS = [
  'duplicate-delivery',
  'duplicate-processing',
  'retry',
  'dead-letter',
  'ghost-message',
  'lost-message',
  'offload',
  'logical-duplicate',
  'out-of-order',
  'missed-delivery',
  'premature-publish',
  'stuck-outbox',
  'inconsistent-output',
  'uncommitted-side-effect',
  'missing-payload',
  'orphaned-payload',
] as const;
export type DetectableKind = (typeof DETECTABLE_KINDS)[number];

export type TruthKind = DetectableKind | 'slow-consumer' | 'http-retry';

export interface TruthRecord {
  kind: TruthKind;
  messageId: string;
  /** The endpoint the fault concerns (the consumer for deliveries, the producer for sends). */
  service: string;
  messageType: string;
  /** Epoch milliseconds. */
  time: number;
  detail?: string;
}

export interface GroundTruth {
  record(entry: Omit<TruthRecord, 'time'>): void;
  readonly records: readonly TruthRecord[];
}

/** Keeps records in memory and, when given a path, appends each as a JSON line. */
export function createGroundTruth(path?: string): GroundTruth {
  const records: TruthRecord[] = [];
  if (path) mkdirSync(dirname(path), { recursive: true });
  return {
    records,
    record(entry) {
      const full: TruthRecord = { ...entry, time: Date.now() };
      records.push(full);
      if (path) appendFileSync(path, `${JSON.stringify(full)}\n`);
    },
  };
}

export function readGroundTruth(path: string): TruthRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TruthRecord);
}
