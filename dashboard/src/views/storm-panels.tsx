/**
 * The tables of the Duplicates & storms view: storm episodes ranked by how far above normal
 * they are (numbered as their chart labels are), and the keys whose baseline is still being
 * learned (no storm is reported for them yet).
 */
import { Link } from '../components/link.js';
import { linkTo } from '../hooks/use-location.js';
import { formatClock, formatCount, formatDuration } from '../model/format.js';
import { episodeFlowParams, formatScore, STORM_KIND_STYLES } from '../model/storms.js';
import type { Storm, StormLearningKey } from '../model/types.js';

export function StormTable({ storms, stepMs }: { storms: Storm[]; stepMs: number }) {
  return (
    <table className="table storms">
      <thead>
        <tr>
          <th className="num">#</th>
          <th>Kind</th>
          <th>Endpoint</th>
          <th>Message type</th>
          <th>From</th>
          <th className="num">Lasted</th>
          <th className="num">Peak / normal per min</th>
          <th className="num" title="How many spreads the peak is above the median of the trailing window">
            Score
          </th>
          <th className="num">Events</th>
          <th>Top message ids</th>
        </tr>
      </thead>
      <tbody>
        {storms.map((storm, index) => {
          const style = STORM_KIND_STYLES[storm.kind];
          return (
            <tr
              key={storm.id}
              className={storm.kind === 'duplicate-delivery' ? 'severity-warning' : 'severity-error'}
              data-storm={storm.id}
            >
              <td className="num">{index + 1}</td>
              <td>
                <span className="kind-swatch" style={{ background: style.colour }} /> {style.short}
                {storm.levelShift && (
                  <span className="badge" title="The rate stepped up and stayed there; from the end of this episode it is the normal">
                    level shift
                  </span>
                )}
                {storm.ongoing && <span className="badge">ongoing</span>}
              </td>
              <td>{storm.endpoint}</td>
              <td>{storm.messageType}</td>
              <td className="mono">
                <Link href={linkTo({ view: 'flows' }, episodeFlowParams(storm, stepMs))}>{formatClock(storm.startMs)}</Link>
              </td>
              <td className="num">{formatDuration(storm.endMs - storm.startMs)}</td>
              <td className="num">
                {formatCount(storm.peakPerMinute)} / {formatCount(storm.baselinePerMinute)}
              </td>
              <td className="num">{formatScore(storm.score)}</td>
              <td className="num">{formatCount(storm.count)}</td>
              <td>
                {storm.topKeys.map((k) => (
                  <Link key={k.messageId} className="mono key-link" href={linkTo({ view: 'flows' }, { search: k.messageId })}>
                    {k.messageId} ×{k.count}
                  </Link>
                ))}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function LearningPanel({ learning, learningMs }: { learning: StormLearningKey[]; learningMs: number }) {
  if (learning.length === 0) return null;
  return (
    <section className="panel learning">
      <h3>Still learning what is normal ({learning.length})</h3>
      <p className="muted">
        No storm is reported for these until {formatDuration(learningMs)} of their traffic has been seen: their first minutes are their
        baseline, not a burst.
      </p>
      <table className="table">
        <thead>
          <tr>
            <th>Endpoint</th>
            <th>Message type</th>
            <th>First seen</th>
            <th>Judged from</th>
          </tr>
        </thead>
        <tbody>
          {learning.map((key) => (
            <tr key={`${key.endpoint}\u0000${key.messageType}`}>
              <td>{key.endpoint}</td>
              <td>{key.messageType}</td>
              <td className="mono">{formatClock(key.firstSeenMs)}</td>
              <td className="mono">{formatClock(key.learnedAtMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
