/** Flows as a dense table; a row opens the flow. */
import { linkTo } from '../hooks/use-location.js';
import { formatClock, formatDuration, shortId } from '../model/format.js';
import type { FlowSummary } from '../model/types.js';
import { CountBadges } from './flag-badges.js';
import { Link } from './link.js';

export function FlowTable({ flows, compact = false }: { flows: FlowSummary[]; compact?: boolean }) {
  return (
    <table className="table flow-table">
      <thead>
        <tr>
          <th>Started</th>
          <th>Flow</th>
          {!compact && <th>Services</th>}
          <th className="num">Msgs</th>
          {!compact && <th className="num">Duration</th>}
          <th>State</th>
          <th>Anomalies</th>
        </tr>
      </thead>
      <tbody>
        {flows.map((flow) => (
          <tr key={flow.conversationId} className={flow.worstSeverity ? `severity-${flow.worstSeverity}` : ''}>
            <td className="mono">{formatClock(flow.startMs)}</td>
            <td>
              <Link href={linkTo({ view: 'flow', conversationId: flow.conversationId })} title={flow.conversationId}>
                {flow.rootType || '(untyped)'}
              </Link>
              <div className="sub mono">{shortId(flow.conversationId)}</div>
            </td>
            {!compact && <td className="services">{flow.services.join(', ')}</td>}
            <td className="num">{flow.messageCount}</td>
            {!compact && <td className="num">{formatDuration(flow.durationMs)}</td>}
            <td>
              <span className={`state-tag state-${flow.state}`}>{flow.state}</span>
            </td>
            <td>
              <CountBadges counts={flow.anomalyCounts} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
