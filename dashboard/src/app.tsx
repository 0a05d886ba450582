/** Routes the URL to a view inside the shell; live updates run for the whole app. */
import { AppShell } from './components/app-shell.js';
import { preloadFor } from './components/lazy.js';
import { Link } from './components/link.js';
import { useLiveUpdates } from './hooks/use-live-updates.js';
import { useRoute } from './hooks/use-location.js';
import { FlowDetailView } from './views/flow-detail-view.js';
import { FlowsView } from './views/flows-view.js';
import { CoverageView } from './views/coverage-view.js';
import { InvestigateView } from './views/investigate-view.js';
import { StormsView } from './views/storms-view.js';
import { SystemMapView } from './views/system-map-view.js';
import { TrendsView } from './views/trends-view.js';

export function App() {
  const route = useRoute();
  const live = useLiveUpdates();
  preloadFor(route);
  let view;
  switch (route.view) {
    case 'map':
      view = <SystemMapView />;
      break;
    case 'flows':
      view = <FlowsView />;
      break;
    case 'flow':
      view = <FlowDetailView key={route.conversationId} conversationId={route.conversationId} />;
      break;
    case 'storms':
      view = <StormsView />;
      break;
    case 'trends':
      view = <TrendsView />;
      break;
    case 'investigate':
      view = <InvestigateView />;
      break;
    case 'coverage':
      view = <CoverageView />;
      break;
    default:
      view = (
        <div className="state state-empty">
          No page at <span className="mono">{route.path}</span>. <Link href="/">Go to the system map</Link>.
        </div>
      );
  }
  return (
    <AppShell route={route} live={live}>
      {view}
    </AppShell>
  );
}
