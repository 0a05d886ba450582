/**
 * Storm kinds the flow records' anomalies carry (ghost and lost messages, inconsistent
 * output: verdicts on a whole flow, which no single span shows) as activity: per-bucket counts
 * on the same (service, destination, message type) keys as the stores' span activity buckets,
 * merged into those rows before storm detection (storms.ts), and the top message ids of an
 * episode of such a kind. Pure: the API reads the anomalies and the buckets.
 */
import type { TimeWindow } from '../contract/index.js';
import { ANOMALY_STORM_KINDS, STORM_KIND_COUNTS, type Anomaly, type AnomalyStormCount, type AnomalyStormKind, type Storm, type StormKind } from '../model/flow.js';
import type { SpanActivityRow, StormBucketRow } from './storms.js';

type ActivityKey = Pick<SpanActivityRow, 'service' | 'destination' | 'messageType'>;
type KeyCount = Storm['topKeys'][number];

const ANOMALY_STORM_KIND_SET: ReadonlySet<string> = new Set(ANOMALY_STORM_KINDS);

export function isAnomalyStormKind(kind: string): kind is AnomalyStormKind {
  return ANOMALY_STORM_KIND_SET.has(kind);
}

/**
 * The destination part of an anomaly's endpoint (`service/destination`); '' when the endpoint
 * is the service alone or is declared under another name (`onceflow.endpoint`), which no
 * activity row's destination can match.
 */
export function destinationOf(anomaly: Pick<Anomaly, 'service' | 'endpoint'>): string {
  const prefix = `${anomaly.service}/`;
  return anomaly.endpoint.startsWith(prefix) ? anomaly.endpoint.slice(prefix.length) : '';
}

const keyId = (timeMs: number, service: string, destination: string, messageType: string) =>
  `${timeMs}\u0000${service}\u0000${destination}\u0000${messageType}`;

const NO_ANOMALY_COUNTS = Object.fromEntries(ANOMALY_STORM_KINDS.map((kind) => [STORM_KIND_COUNTS[kind], 0])) as Record<
  AnomalyStormCount,
  number
>;

/**
 * The activity rows with the anomalies of the storm kinds counted in, by the bucket of their
 * evidence time: added to the row of the same bucket and key, or a row of its own with no
 * attempts (a producer's key, or a bucket in which the consumer had no traffic). Anomalies of
 * other kinds are ignored; so is one outside every bucket the rows' step aligns.
 */
export function withAnomalyActivity(rows: readonly SpanActivityRow[], anomalies: readonly Anomaly[], stepMs: number): StormBucketRow[] {
  if (!(stepMs > 0)) throw new RangeError(`anomaly activity: step must be positive, got ${stepMs}`);
  const merged = new Map<string, StormBucketRow>();
  for (const row of rows) merged.set(keyId(row.timeMs, row.service, row.destination, row.messageType), { ...row, ...NO_ANOMALY_COUNTS });
  for (const anomaly of anomalies) {
    if (!isAnomalyStormKind(anomaly.kind)) continue;
    const timeMs = Math.floor(anomaly.timeMs / stepMs) * stepMs;
    const destination = destinationOf(anomaly);
    const id = keyId(timeMs, anomaly.service, destination, anomaly.messageType);
    let row = merged.get(id);
    if (!row) {
      row = {
        timeMs,
        service: anomaly.service,
        destination,
        messageType: anomaly.messageType,
        attempts: 0,
        duplicateDeliveries: 0,
        duplicateProcessings: 0,
        retries: 0,
        failures: 0,
        deadLetters: 0,
        ...NO_ANOMALY_COUNTS,
      };
      merged.set(id, row);
    }
    row[STORM_KIND_COUNTS[anomaly.kind]] += 1;
  }
  return [...merged.values()].sort(
    (a, b) =>
      a.timeMs - b.timeMs ||
      a.service.localeCompare(b.service) ||
      a.destination.localeCompare(b.destination) ||
      a.messageType.localeCompare(b.messageType),
  );
}

/** Message ids with the most anomalies of `kind` for one key in the window (the top keys of an episode). */
export function anomalyTopKeys(
  anomalies: readonly Anomaly[],
  window: TimeWindow,
  key: ActivityKey,
  kind: StormKind,
  limit: number,
): KeyCount[] {
  const counts = new Map<string, number>();
  for (const anomaly of anomalies) {
    if (anomaly.kind !== kind || anomaly.timeMs < window.fromMs || anomaly.timeMs >= window.toMs || !anomaly.messageId) continue;
    if (anomaly.service !== key.service || anomaly.messageType !== key.messageType || destinationOf(anomaly) !== key.destination) continue;
    counts.set(anomaly.messageId, (counts.get(anomaly.messageId) ?? 0) + 1);
  }
  return [...counts]
    .map(([messageId, count]) => ({ messageId, count }))
    .sort((a, b) => b.count - a.count || (a.messageId < b.messageId ? -1 : 1))
    .slice(0, limit);
}
