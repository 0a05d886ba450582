/** Header (navigation, search, window, collector status) around the current view. */
import type { ReactNode } from 'react';
import { ApiError } from '../api/client.js';
import { useHealth } from '../hooks/use-api.js';
import { linkTo } from '../hooks/use-location.js';
import type { Route } from '../model/url-state.js';
import { formatCount } from '../model/format.js';
import { ApiTokenPrompt } from './api-token-prompt.js';
import { Link } from './link.js';
import { SearchBox } from './search-box.js';
import { WindowPicker } from './window-picker.js';

const NAV: { view: Route['view']; label: string; route: Route }[] = [
  { view: 'map', label: 'System map', route: { view: 'map' } },
  { view: 'flows', label: 'Flows', route: { view: 'flows' } },
  { view: 'storms', label: 'Duplicates & storms', route: { view: 'storms' } },
  { view: 'trends', label: 'Trends', route: { view: 'trends' } },
  { view: 'investigate', label: 'Investigate', route: { view: 'investigate' } },
  { view: 'coverage', label: 'Coverage', route: { view: 'coverage' } },
];

function CollectorStatus({ live }: { live: boolean }) {
  const health = useHealth();
  if (health.isError) {
    const kind = health.error instanceof ApiError ? health.error.kind : null;
    const text = kind === 'unreachable' ? 'collector unreachable' : kind === 'unauthorized' ? 'API token needed' : 'collector degraded';
    return (
      <span className="collector-status down" title={health.error.message}>
        {text}
      </span>
    );
  }
  if (!health.data) return <span className="collector-status">connecting…</span>;
  const ingest = health.data.ingest;
  return (
    <>
      {ingest?.behind && (
        <span className="collector-status down" role="status" title={ingest.storeError ?? undefined}>
          store behind: {formatCount(ingest.lagSpans)} acknowledged spans not stored yet (oldest{' '}
          {Math.round(ingest.oldestUnstoredAgeMs / 1000)} s)
        </span>
      )}
      <span className={`collector-status ${health.data.status === 'ok' ? 'up' : 'down'}`} title={health.data.storeDetail}>
        {health.data.store} · {formatCount(health.data.spans ?? 0)} spans · {live ? 'live' : 'not live'}
      </span>
    </>
  );
}

export function AppShell({ route, live, children }: { route: Route; live: boolean; children: ReactNode }) {
  const current = route.view === 'flow' ? 'flows' : route.view;
  return (
    <div className="app">
      <header className="topbar">
        <Link className="brand" href={linkTo({ view: 'map' })}>
          Onceflow
        </Link>
        <nav>
          {NAV.map((item) => (
            <Link key={item.view} href={linkTo(item.route)} className={current === item.view ? 'active' : ''}>
              {item.label}
            </Link>
          ))}
        </nav>
        <SearchBox />
        <CollectorStatus live={live} />
      </header>
      <div className="toolbar">
        <WindowPicker />
      </div>
      <main>{children}</main>
      <ApiTokenPrompt />
    </div>
  );
}
