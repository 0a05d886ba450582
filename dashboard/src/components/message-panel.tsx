/** One message of a flow: identity, payload, anomalies, sends and every attempt with its error. */
import type { Anomaly, FlowMessage } from '../model/types.js';
import { formatBytes, formatClock, formatDuration } from '../model/format.js';
import { STATUS_LABELS } from '../model/anomaly-style.js';
import { duplicateProcessors } from '../model/timeline.js';
import { FlagBadges } from './flag-badges.js';
import { Facts, SidePanel } from './side-panel.js';

export function MessagePanel({ message, anomalies, onClose }: { message: FlowMessage; anomalies: Anomaly[]; onClose: () => void }) {
  const twice = duplicateProcessors(message);
  // Span ids of processings after an endpoint's first one: the repeats.
  const repeats = new Set<string>();
  const processedBy = new Set<string>();
  for (const d of message.deliveries) {
    if (d.outcome !== 'processed') continue;
    if (processedBy.has(d.service)) repeats.add(d.spanId);
    processedBy.add(d.service);
  }
  const traceIds = [...new Set([...message.sends.map((s) => s.traceId), ...message.deliveries.map((d) => d.traceId)].filter(Boolean))];
  return (
    <SidePanel title={message.messageType || '(untyped message)'} onClose={onClose}>
      <FlagBadges flags={message.flags} />
      {anomalies.length > 0 && (
        <ul className="anomaly-lines">
          {anomalies.map((a, i) => (
            <li key={i} className={`severity-${a.severity}`}>
              {a.detail}
            </li>
          ))}
        </ul>
      )}
      <Facts
        rows={[
          [
            'Message id',
            <span className="mono" data-testid="message-id">
              {message.messageId}
            </span>,
          ],
          ['Status', STATUS_LABELS[message.status]],
          ['Producer', message.producer || '–'],
          ['Destination', message.destination || '–'],
          ['Caused by', <span className="mono">{message.causationId || '– (boundary)'}</span>],
          ['Idempotency key', <span className="mono">{message.idempotencyKey || '–'}</span>],
          ['Business key', <span className="mono">{message.businessKey || '–'}</span>],
          ['Sent at', message.sentAtMs ? formatClock(message.sentAtMs) : '–'],
          ['Payload', formatBytes(message.payloadBytes)],
          ['Offloaded', message.payloadOffloaded ? `yes${message.payloadFetched ? ', read back' : ', not read back'}` : 'no'],
          ['Payload ref', <span className="mono">{message.payloadRef || '–'}</span>],
          ['Trace ids', <span className="mono">{traceIds.join(', ') || '–'}</span>],
        ]}
      />
      <h3>Sends ({message.sends.length})</h3>
      {message.sends.length === 0 ? (
        <p className="muted">No send was recorded.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>At</th>
              <th>Service</th>
              <th>To</th>
              <th>Note</th>
            </tr>
          </thead>
          <tbody>
            {message.sends.map((send) => (
              <tr key={send.spanId}>
                <td className="mono">{formatClock(send.startMs)}</td>
                <td>{send.service}</td>
                <td>{send.destination}</td>
                <td className={send.fromFailedAttempt ? 'bad' : ''}>{send.fromFailedAttempt ? 'from a failed attempt' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Attempts ({message.deliveries.length})</h3>
      {message.deliveries.length === 0 ? (
        <p className="muted">{message.status === 'lost' ? 'Never delivered to any consumer.' : 'No delivery yet.'}</p>
      ) : (
        <table className="table attempts">
          <thead>
            <tr>
              <th>#</th>
              <th>Service</th>
              <th>Outcome</th>
              <th>At (took)</th>
              <th>Error / retry</th>
            </tr>
          </thead>
          <tbody>
            {message.deliveries.map((d) => (
              <tr
                key={d.spanId}
                className={`outcome-${d.outcome || 'none'}${d.outcome === 'processed' && twice.has(d.service) ? ' processed-twice' : ''}`}
              >
                <td className="num">{d.attempt || '?'}</td>
                <td>{d.service}</td>
                <td>
                  {d.outcome || '–'}
                  {d.redelivered ? ' (redelivered)' : ''}
                  {repeats.has(d.spanId) ? ' — again' : ''}
                </td>
                <td className="mono">
                  {formatClock(d.startMs)} <span className="muted">({formatDuration(d.durationMs)})</span>
                </td>
                <td className="error-text">
                  {d.error}
                  {d.retryDelayMs != null ? ` retry in ${formatDuration(d.retryDelayMs)}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </SidePanel>
  );
}
