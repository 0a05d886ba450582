/**
 * Duplicates & storms view-model: how each storm kind is named, coloured and charted, storm
 * episodes as chart bands (one per episode, with a short label, a full name for hover and the
 * flows of the episode as the click target), and the message ids that offend most.
 */
import { formatClock, formatCount } from './format.js';
import type { AnomalyKind, Storm, StormKind } from './types.js';

export type StormChart = 'duplicates' | 'failures';

export interface StormKindStyle {
  label: string;
  /** For band labels, where room is short. */
  short: string;
  colour: string;
  chart: StormChart;
  /** The flows list's anomaly filter that finds the flows of such an episode (null: none fits). */
  flowAnomaly: AnomalyKind | null;
}

/** One line per storm kind the collector reports. */
export const STORM_KIND_STYLES: Record<StormKind, StormKindStyle> = {
  'duplicate-delivery': {
    label: 'duplicate deliveries',
    short: 'dup delivery',
    colour: '#2f80c9',
    chart: 'duplicates',
    flowAnomaly: 'duplicate-delivery',
  },
  'duplicate-processing': {
    label: 'duplicate processings',
    short: 'dup processing',
    colour: '#d0252b',
    chart: 'duplicates',
    flowAnomaly: 'duplicate-processing',
  },
  retry: {
    label: 'retries (failed or retry-scheduled attempts)',
    short: 'retry',
    colour: '#d39a00',
    chart: 'failures',
    flowAnomaly: 'retry',
  },
  failure: {
    label: 'failures (attempts in error, no retry recorded)',
    short: 'failure',
    colour: '#e0641b',
    chart: 'failures',
    flowAnomaly: null,
  },
  'dead-letter': { label: 'dead letters', short: 'dead letter', colour: '#3a3a3a', chart: 'failures', flowAnomaly: 'dead-letter' },
  // The flow-record kinds: a ghost or an inconsistent output is an extra effect (beside the
  // duplicates), a lost message a missing one (beside the failures).
  'ghost-message': {
    label: 'ghost messages (sent by an attempt that did not commit)',
    short: 'ghost',
    colour: '#8e44ad',
    chart: 'duplicates',
    flowAnomaly: 'ghost-message',
  },
  'lost-message': {
    label: 'lost messages (produced, never delivered)',
    short: 'lost',
    colour: '#7a1f1f',
    chart: 'failures',
    flowAnomaly: 'lost-message',
  },
  'inconsistent-output': {
    label: 'inconsistent outputs (one message sent with different bodies)',
    short: 'inconsistent',
    colour: '#16867a',
    chart: 'duplicates',
    flowAnomaly: 'inconsistent-output',
  },
};

export interface StormBand {
  id: string;
  x1: number;
  x2: number;
  /** Short: rank, kind and message type. */
  label: string;
  /** The rank alone, where the label has no room. */
  shortLabel: string;
  /** Everything that names the episode, for hover. */
  title: string;
  colour: string;
  kind: StormKind;
  /** The flows of the episode. */
  href: string;
  dashed: boolean;
}

/**
 * The flows list filtered to one episode: its window (from a bucket before its start, since
 * the flows list goes by flow start and a burst's first flows may have begun just before),
 * its service, message type and anomaly kind.
 */
export function episodeFlowParams(storm: Storm, stepMs: number): Record<string, string | number> {
  const params: Record<string, string | number> = {
    from: storm.startMs - stepMs,
    to: Math.max(storm.endMs, storm.startMs + stepMs),
    service: storm.service,
    messageType: storm.messageType,
  };
  const anomaly = STORM_KIND_STYLES[storm.kind].flowAnomaly;
  if (anomaly) params.anomaly = anomaly;
  return params;
}

export function describeStorm(storm: Storm): string {
  const what = storm.levelShift ? 'level shift' : 'storm';
  const label = STORM_KIND_STYLES[storm.kind].label;
  const rates = `peak ${formatCount(storm.peakPerMinute)}/min against ${formatCount(storm.baselinePerMinute)}/min normal`;
  return `${label} ${what} · ${storm.endpoint} · ${storm.messageType} · ${formatClock(storm.startMs)}–${formatClock(storm.endMs)} · ${rates} · score ${formatScore(storm.score)}`;
}

export function formatScore(score: number): string {
  return score >= 100 ? String(Math.round(score)) : score.toFixed(1);
}

/**
 * Bands for the episodes of `storms` (ranked by the API; the rank is the label's number and the
 * table's). A storm shorter than one bucket still gets a visible band of at least `minWidthMs`.
 */
export function stormBands(storms: Storm[], minWidthMs: number, href: (storm: Storm) => string): StormBand[] {
  return storms.map((storm, index) => {
    const style = STORM_KIND_STYLES[storm.kind];
    return {
      id: storm.id,
      x1: storm.startMs,
      x2: Math.max(storm.endMs, storm.startMs + minWidthMs),
      label: `#${index + 1} ${style.short}${storm.levelShift ? ' (shift)' : ''} · ${storm.messageType}`,
      shortLabel: `#${index + 1}`,
      title: `#${index + 1} ${describeStorm(storm)}`,
      colour: style.colour,
      kind: storm.kind,
      href: href(storm),
      dashed: storm.levelShift,
    };
  });
}

export interface Offender {
  name: string;
  count: number;
  storms: number;
}

/** Message ids that recur across episodes, by how many events they account for. */
export function topStormKeys(storms: Storm[], limit = 10): Offender[] {
  const keys = new Map<string, { count: number; storms: number }>();
  for (const storm of storms) {
    for (const key of storm.topKeys) {
      const entry = keys.get(key.messageId) ?? { count: 0, storms: 0 };
      entry.count += key.count;
      entry.storms += 1;
      keys.set(key.messageId, entry);
    }
  }
  return [...keys]
    .map(([name, v]) => ({ name, ...v }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name))
    .slice(0, limit);
}
