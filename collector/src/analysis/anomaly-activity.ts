/**
 * Storm kinds the flow records' anomalies carry (ghost and lost messages, inconsistent
 * output: verdicts on a whole flow, which no single span shows) as activity: per-bucket counts
 * on the same (service, destination, message type) keys as the stores' span activity buckets,
 * merged into those rows before storm detection (storms.ts), and the top message ids of an
 * episode of such a kind. Pure: the API reads the anomalies and the buckets.
 */
import type { TimeWindow } from '../contract/index.js';
import {
  ANOMALY_STORM_KINDS,
  STORM_KIND_COUNTS,
  type Anomaly,
  type AnomalyStormCount,
  type AnomalyStormKind,
  type SpanStormCount,
  type Storm,
  type StormKind,
} from '../model/flow.js';
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

const NO_SPAN_COUNTS: Record<SpanStormCount, number> = {
  duplicateDeliveries: 0,
  duplicateProcessings: 0,
  retries: 0,
  failures: 0,
  deadLetters: 0,
};
const NO_ANOMALY_COUNTS = Object.fromEntries(ANOMALY_STORM_KINDS.map((kind) => [STORM_KIND_COUNTS[kind], 0])) as Record<
  AnomalyStormCount,
  number
>;

/**
 * The activity rows with the anomalies of the storm kinds counted in, by the bucket of their
 * evidence time: added to the row of the same bucket and key, or a row of its own (a bucket in
 * which the key had no attempts). Anomalies of other kinds are ignored.
 *
 * A ghost or lost message is usually named by its producer's endpoint and the type it
 * produced, a key no span row has (the producer consumes another type). Such a key takes its
 * endpoint's attempts of any type as its traffic — the work that could have produced it — so
 * the endpoint's calm minutes are its history and it learns from the endpoint's first traffic.
 * A key whose endpoint had no attempts in the rows read keeps 0 attempts, and then learns from
 * its first anomaly bucket (see storms.ts).
 */
export function withAnomalyActivity(rows: readonly SpanActivityRow[], anomalies: readonly Anomaly[], stepMs: number): StormBucketRow[] {
  if (!(stepMs > 0)) throw new RangeError(`anomaly activity: step must be positive, got ${stepMs}`);
  const merged = new Map<string, StormBucketRow>();
  const spanKeys = new Set<string>();
  /** Per endpoint (service, destination): attempts per bucket start. */
  const endpointTraffic = new Map<string, Map<number, number>>();
  for (const row of rows) {
    merged.set(keyId(row.timeMs, row.service, row.destination, row.messageType), { ...row, ...NO_ANOMALY_COUNTS });
    spanKeys.add(keyId(0, row.service, row.destination, row.messageType));
    const endpoint = keyId(0, row.service, row.destination, '');
    const traffic = endpointTraffic.get(endpoint) ?? new Map<number, number>();
    traffic.set(row.timeMs, (traffic.get(row.timeMs) ?? 0) + row.attempts);
    endpointTraffic.set(endpoint, traffic);
  }
  const rowAt = (timeMs: number, key: ActivityKey): StormBucketRow => {
    const id = keyId(timeMs, key.service, key.destination, key.messageType);
    let row = merged.get(id);
    if (!row) {
      row = { timeMs, ...key, attempts: 0, ...NO_SPAN_COUNTS, ...NO_ANOMALY_COUNTS };
      merged.set(id, row);
    }
    return row;
  };
  const producerKeys = new Map<string, ActivityKey>();
  for (const anomaly of anomalies) {
    if (!isAnomalyStormKind(anomaly.kind)) continue;
    const key = { service: anomaly.service, destination: destinationOf(anomaly), messageType: anomaly.messageType };
    rowAt(Math.floor(anomaly.timeMs / stepMs) * stepMs, key)[STORM_KIND_COUNTS[anomaly.kind]] += 1;
    const id = keyId(0, key.service, key.destination, key.messageType);
    if (!spanKeys.has(id)) producerKeys.set(id, key);
  }
  for (const key of producerKeys.values()) {
    const traffic = endpointTraffic.get(keyId(0, key.service, key.destination, ''));
    for (const [timeMs, attempts] of traffic ?? []) rowAt(timeMs, key).attempts = attempts;
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
