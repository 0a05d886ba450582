/**
 * The flows explorer: filters (timeWindow, service, message type, anomaly kind, completion, verdict, text)
 * live in the URL; counts per anomaly kind cover the whole filtered window; pages load on demand.
 * `search=<id>` lists the flows an id search matched.
 */
import { useState, type FormEvent } from 'react';
import { FlagBadge } from '../components/flag-badges.js';
import { FlowTable } from '../components/flow-table.js';
import { Empty, EmptyStore, ErrorState, Loading } from '../components/status.js';
import { useFlowList, useSearch } from '../hooks/use-api.js';
import { useSearchParams } from '../hooks/use-location.js';
import { useTimeWindow } from '../hooks/use-time-window.js';
import { FLAG_ORDER, FLAG_STYLES } from '../model/anomaly-style.js';
import { EMPTY_FLOW_FILTERS, flowQueryParams, parseFlowFilters, type FlowFilters } from '../model/url-state.js';

function SearchResults({ q }: { q: string }) {
  const [, setParams] = useSearchParams();
  const search = useSearch(q);
  return (
    <section className="panel">
      <h2>
        Flows matching <span className="mono">{q}</span>{' '}
        <button type="button" className="linkish" onClick={() => setParams({ search: null })}>
          clear
        </button>
      </h2>
      {search.isPending ? (
        <Loading what="search results" />
      ) : search.isError ? (
        <ErrorState error={search.error} what="search results" />
      ) : search.data.flows.length === 0 ? (
        <Empty>No flow contains that id.</Empty>
      ) : (
        <FlowTable flows={search.data.flows} />
      )}
    </section>
  );
}

function FilterBar({ filters, services }: { filters: FlowFilters; services: string[] }) {
  const [, setParams] = useSearchParams();
  // Typed text stays local until applied; the parent re-keys this bar when the URL changes.
  const [draft, setDraft] = useState(filters);
  const apply = (next: FlowFilters) => setParams({ ...next });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    apply(draft);
  };
  return (
    <form className="filter-bar" onSubmit={submit}>
      <label>
        Text
        <input value={draft.q} placeholder="id, key, type…" onChange={(e) => setDraft({ ...draft, q: e.target.value })} />
      </label>
      <label>
        Service
        <input list="flow-services" value={draft.service} onChange={(e) => setDraft({ ...draft, service: e.target.value })} />
        <datalist id="flow-services">
          {services.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </label>
      <label>
        Message type
        <input value={draft.messageType} onChange={(e) => setDraft({ ...draft, messageType: e.target.value })} />
      </label>
      <label>
        Anomaly
        <select
          value={filters.anomaly}
          onChange={(e) => apply({ ...draft, anomaly: e.target.value as FlowFilters['anomaly'] })}
          aria-label="Anomaly kind"
        >
          <option value="">any</option>
          {FLAG_ORDER.map((kind) => (
            <option key={kind} value={kind}>
              {FLAG_STYLES[kind].label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Completion
        <select
          value={filters.completion}
          onChange={(e) => apply({ ...draft, completion: e.target.value as FlowFilters['completion'] })}
          aria-label="Completion"
        >
          <option value="">any</option>
          <option value="complete">complete</option>
          <option value="incomplete">incomplete</option>
          <option value="active">active</option>
        </select>
      </label>
      <label>
        Exactly once
        <select
          value={filters.verdict}
          onChange={(e) => apply({ ...draft, verdict: e.target.value as FlowFilters['verdict'] })}
          aria-label="Verdict"
        >
          <option value="">any</option>
          <option value="violated">violated</option>
          <option value="unknown">unknown</option>
          <option value="held">held</option>
        </select>
      </label>
      <button type="submit">Apply</button>
      <button type="button" onClick={() => apply(EMPTY_FLOW_FILTERS)}>
        Clear
      </button>
    </form>
  );
}

export function FlowsView() {
  const { timeWindow } = useTimeWindow();
  const [params, setParams] = useSearchParams();
  const filters = parseFlowFilters(params);
  const apiFilters = flowQueryParams(filters);
  const flows = useFlowList(timeWindow, apiFilters, 100);
  const search = params.get('search');
  const list = flows.data?.pages.flatMap((p) => p.flows) ?? [];
  const first = flows.data?.pages[0];
  const services = [...new Set(list.flatMap((f) => f.services))].sort();
  const filtered = Object.values(apiFilters).length > 0;

  return (
    <div className="page">
      {search && <SearchResults q={search} />}
      <FilterBar key={JSON.stringify(filters)} filters={filters} services={services} />
      {first && (
        <div className="anomaly-counts" aria-label="Flows per anomaly kind">
          <span className="muted">{first.total} flows</span>
          {FLAG_ORDER.filter((k) => (first.anomalyCounts[k] ?? 0) > 0).map((kind) => (
            <button
              key={kind}
              type="button"
              className={`count-filter ${filters.anomaly === kind ? 'active' : ''}`}
              onClick={() => setParams({ anomaly: filters.anomaly === kind ? null : kind })}
            >
              <FlagBadge kind={kind} count={first.anomalyCounts[kind]} />
            </button>
          ))}
        </div>
      )}
      {flows.isPending ? (
        <Loading what="flows" />
      ) : flows.isError && !flows.data ? (
        <ErrorState error={flows.error} what="flows" />
      ) : list.length === 0 ? (
        filtered ? (
          <Empty>No flow in this window matches these filters.</Empty>
        ) : (
          <EmptyStore />
        )
      ) : (
        <>
          <FlowTable flows={list} />
          {flows.hasNextPage && (
            <button type="button" className="load-more" onClick={() => void flows.fetchNextPage()} disabled={flows.isFetchingNextPage}>
              {flows.isFetchingNextPage ? 'Loading…' : `Load more (${list.length} of ${first?.total ?? '?'})`}
            </button>
          )}
        </>
      )}
    </div>
  );
}
