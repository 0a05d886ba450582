/**
 * Human-readable fragments for anomaly details: durations, sizes, attempt lists. Kept apart so
 * every detector words things the same way.
 */

/** 850 ms, 3.2 s, 4.5 min, 2.0 h. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (abs < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** 512 B, 2.4 KB, 2.4 MB (decimal units, as blob stores report them). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} KB`;
  if (bytes < 1_000_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  return `${(bytes / 1_000_000_000).toFixed(1)} GB`;
}

/** At most `max` items: the first ones, an elision naming how many were left out, the last two. */
export function abridge(items: string[], max = 6): string[] {
  if (items.length <= max) return items;
  const head = items.slice(0, max - 3);
  return [...head, `… ${items.length - head.length - 2} more …`, ...items.slice(-2)];
}

/** "1", "1 and 2", "1, 2 and 3"; long lists abridged; unknown attempt numbers (0) print as "?". */
export function formatList(items: (string | number)[]): string {
  const words = abridge(items.map((item) => (item === 0 ? '?' : String(item))));
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** Quoted and shortened to keep a detail on one line. */
export function quote(text: string, max = 80): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return `"${oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine}"`;
}

/** "OrderBilled" or, when the type is unknown, the message id. */
export function nameOf(type: string, id: string): string {
  return type || `message ${id}`;
}
