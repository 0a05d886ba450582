/** Legend of the causation graph: how each anomaly kind is marked (from the same style table). */
import { FLAG_ORDER, FLAG_STYLES } from '../model/anomaly-style.js';

export function FlagLegend() {
  return (
    <div className="legend" aria-label="Legend">
      {FLAG_ORDER.map((flag) => (
        <span key={flag} className="legend-item">
          <span className={`swatch flag-swatch flag-${flag}`} style={{ borderColor: FLAG_STYLES[flag].colour }} /> {FLAG_STYLES[flag].label}
        </span>
      ))}
      <span className="legend-item">
        <span className="swatch flag-swatch group-swatch" /> Type ×N: alike sibling messages, collapsed
      </span>
    </div>
  );
}
