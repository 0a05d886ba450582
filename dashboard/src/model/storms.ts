/**
 * Duplicates & storms view-model: storm episodes as chart areas, and the services, message
 * types and message ids that offend most across them.
 */
import type { Storm } from './types.js';

export interface StormArea {
  id: string;
  x1: number;
  x2: number;
  label: string;
  kind: Storm['kind'];
}

/** A storm shorter than one bucket still gets a visible band of at least `minWidthMs`. */
export function stormAreas(storms: Storm[], minWidthMs: number): StormArea[] {
  return storms.map((storm) => ({
    id: storm.id,
    x1: storm.startMs,
    x2: Math.max(storm.endMs, storm.startMs + minWidthMs),
    label: `${storm.kind} storm`,
    kind: storm.kind,
  }));
}

export interface Offender {
  name: string;
  count: number;
  storms: number;
}

function rank(entries: Iterable<[string, { count: number; storms: number }]>, limit: number): Offender[] {
  return [...entries]
    .map(([name, v]) => ({ name, ...v }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name))
    .slice(0, limit);
}

export function topOffenders(storms: Storm[], limit = 10): { services: Offender[]; messageTypes: Offender[]; keys: Offender[] } {
  const services = new Map<string, { count: number; storms: number }>();
  const types = new Map<string, { count: number; storms: number }>();
  const keys = new Map<string, { count: number; storms: number }>();
  const add = (map: Map<string, { count: number; storms: number }>, name: string, count: number) => {
    const entry = map.get(name) ?? { count: 0, storms: 0 };
    entry.count += count;
    entry.storms += 1;
    map.set(name, entry);
  };
  for (const storm of storms) {
    add(services, storm.service, storm.count);
    add(types, storm.messageType, storm.count);
    for (const key of storm.topKeys) add(keys, key.messageId, key.count);
  }
  return { services: rank(services, limit), messageTypes: rank(types, limit), keys: rank(keys, limit) };
}
