/** Every send, attempt and lost message of a flow as a Gantt-style list (virtualised). */
import { useMemo } from 'react';
import { formatDuration } from '../model/format.js';
import { barGeometry, timelineScale, type TimelineRow } from '../model/timeline.js';
import { VirtualList } from './virtual-list.js';

const ROW_HEIGHT = 22;

const KIND_LABEL: Record<TimelineRow['kind'], string> = { send: 'send', attempt: 'attempt', lost: 'LOST', http: 'http' };

function rowText(row: TimelineRow): string {
  if (row.kind === 'attempt') return `#${row.attempt || '?'} ${row.outcome || 'no outcome'}`;
  if (row.kind === 'send') return row.outcome === 'ghost' ? 'sent by failed attempt (ghost)' : `→ ${row.destination}`;
  if (row.kind === 'lost') return 'never delivered';
  return `${row.outcome} → ${row.destination}`;
}

export function FlowTimeline({
  rows,
  selectedMessageId,
  onSelect,
}: {
  rows: TimelineRow[];
  selectedMessageId: string | null;
  onSelect: (messageId: string) => void;
}) {
  const scale = useMemo(() => timelineScale(rows), [rows]);
  const selectedIndex = useMemo(
    () => (selectedMessageId ? rows.findIndex((r) => r.messageId === selectedMessageId) : -1),
    [rows, selectedMessageId],
  );
  return (
    <div className="timeline">
      <div className="timeline-head">
        <span className="t-offset">+time</span>
        <span className="t-service">service</span>
        <span className="t-what">message / step</span>
        <span className="t-bar">0 → {formatDuration(scale.spanMs)}</span>
      </div>
      <VirtualList
        items={rows}
        rowHeight={ROW_HEIGHT}
        scrollToIndex={selectedIndex}
        className="timeline-body"
        renderRow={(row) => {
          const { leftPct, widthPct } = barGeometry(row, scale);
          const selected = row.messageId !== '' && row.messageId === selectedMessageId;
          return (
            <button
              type="button"
              className={`trow kind-${row.kind} tone-${row.tone} ${selected ? 'selected' : ''}`}
              onClick={() => row.messageId && onSelect(row.messageId)}
              title={row.error || undefined}
              data-message-id={row.messageId}
            >
              <span className="t-offset mono">+{formatDuration(row.startMs - scale.startMs)}</span>
              <span className="t-service">{row.service || '–'}</span>
              <span className="t-what">
                <span className="t-kind">{KIND_LABEL[row.kind]}</span> {row.messageType} <span className="muted">{rowText(row)}</span>
                {row.error && <span className="t-error"> {row.error}</span>}
              </span>
              <span className="t-bar">
                <span className="bar" style={{ left: `${leftPct}%`, width: `${widthPct}%` }} />
              </span>
            </button>
          );
        }}
      />
    </div>
  );
}
