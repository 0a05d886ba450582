/** Anomaly flags as small coloured text badges (text only, so attribute values are never HTML). */
import type { AnomalyKind } from '../model/types.js';
import { FLAG_STYLES, FLAG_ORDER, sortFlags } from '../model/anomaly-style.js';

export function FlagBadge({ kind, count }: { kind: AnomalyKind; count?: number }) {
  const style = FLAG_STYLES[kind];
  return (
    <span
      className={`badge badge-${style.severity}`}
      style={{ borderColor: style.colour, color: style.colour }}
      title={style.label}
      data-flag={kind}
    >
      {style.tag}
      {count !== undefined ? ` ${count}` : ''}
    </span>
  );
}

export function FlagBadges({ flags }: { flags: readonly AnomalyKind[] }) {
  return (
    <span className="badges">
      {sortFlags(flags).map((flag) => (
        <FlagBadge key={flag} kind={flag} />
      ))}
    </span>
  );
}

export function CountBadges({ counts }: { counts: Partial<Record<AnomalyKind, number>> }) {
  return (
    <span className="badges">
      {FLAG_ORDER.filter((kind) => (counts[kind] ?? 0) > 0).map((kind) => (
        <FlagBadge key={kind} kind={kind} count={counts[kind]} />
      ))}
    </span>
  );
}
