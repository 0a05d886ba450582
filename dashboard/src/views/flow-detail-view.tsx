/**
 * One conversation: its causation graph beside a timeline of every delivery and attempt, with
 * the selected message (URL `msg`) in a side panel. Messages load in pages; repeated healthy
 * structure is collapsed so thousands of messages stay usable.
 */
import { useCallback, useMemo } from 'react';
import { fitGraph } from '../components/graph-handles.js';
import { CytoscapeGraph } from '../components/lazy.js';
import { CountBadges } from '../components/flag-badges.js';
import { FlowTimeline } from '../components/flow-timeline.js';
import { FLOW_STYLE } from '../components/graph-styles.js';
import { LedgerPanel } from '../components/ledger-panel.js';
import { FlagLegend } from '../components/legend.js';
import { Link } from '../components/link.js';
import { MessagePanel } from '../components/message-panel.js';
import { Facts, SidePanel } from '../components/side-panel.js';
import { ErrorState, Loading } from '../components/status.js';
import { FLOW_PAGE_SIZE, useFlow } from '../hooks/use-api.js';
import { linkTo, useSearchParams } from '../hooks/use-location.js';
import { formatClock, formatDuration } from '../model/format.js';
import { buildFlowGraph, messageNodeId, type FlowGraph } from '../model/flow-graph.js';
import { buildTimelineRows } from '../model/timeline.js';
import type { Flow } from '../model/types.js';

/**
 * Pages of one flow merged into one. Only `messages` is paged; edges, HTTP calls, anomalies and
 * counts always cover the whole flow, so they come from the first page.
 */
function mergePages(pages: Flow[]): Flow {
  if (pages.length === 1) return pages[0];
  const messages = pages.flatMap((p) => p.messages);
  return { ...pages[0], messages, page: { offset: 0, limit: messages.length, total: pages[0].page.total } };
}

/** Runs `build` and records its duration in the browser's performance timeline (read by the benchmark). */
function timed<T>(name: string, build: () => T): T {
  const start = performance.now();
  const result = build();
  performance.measure(name, { start, end: performance.now() });
  return result;
}

function GroupPanel({
  graph,
  nodeId,
  flow,
  onSelectMessage,
  onClose,
}: {
  graph: FlowGraph;
  nodeId: string;
  flow: Flow;
  onSelectMessage: (id: string) => void;
  onClose: () => void;
}) {
  const ids = graph.members.get(nodeId) ?? [];
  const call = flow.httpCalls.find((c) => `h:${c.spanId}` === nodeId);
  if (call) {
    return (
      <SidePanel title={`${call.method} ${call.target}`} onClose={onClose}>
        <Facts
          rows={[
            ['Client → server', `${call.client} → ${call.server}`],
            ['Status', String(call.statusCode || '–')],
            ['Idempotency key', call.idempotencyKey || '–'],
            ['At', formatClock(call.startMs)],
            ['Took', formatDuration(call.durationMs)],
            ['Trace id', <span className="mono">{call.traceId}</span>],
          ]}
        />
      </SidePanel>
    );
  }
  const shown = ids.slice(0, 200);
  return (
    <SidePanel title={`${ids.length} messages`} onClose={onClose}>
      <p className="muted">
        Sibling messages of one type with the same parent, state and flags, collapsed into one node. Pick one to see its attempts.
      </p>
      <ul className="id-list">
        {shown.map((id) => (
          <li key={id}>
            <button type="button" className="linkish mono" onClick={() => onSelectMessage(id)}>
              {id}
            </button>
          </li>
        ))}
      </ul>
      {ids.length > shown.length && <p className="muted">…and {ids.length - shown.length} more.</p>}
    </SidePanel>
  );
}

export function FlowDetailView({ conversationId }: { conversationId: string }) {
  const [params, setParams] = useSearchParams();
  const query = useFlow(conversationId);
  const flow = useMemo(() => (query.data ? mergePages(query.data.pages) : null), [query.data]);
  const graph = useMemo(() => (flow ? timed('onceflow:flow:graph-model', () => buildFlowGraph(flow)) : null), [flow]);
  const rows = useMemo(() => (flow ? timed('onceflow:flow:timeline-model', () => buildTimelineRows(flow)) : []), [flow]);

  const selectedMessageId = params.get('msg');
  const selectedNode = params.get('node');
  const message = flow && selectedMessageId ? flow.messages.find((m) => m.messageId === selectedMessageId) : undefined;
  const graphSelection = message ? (graph?.nodeOfMessage.get(message.messageId) ?? null) : selectedNode;

  const selectMessage = useCallback((id: string) => setParams({ msg: id, node: null }, { replace: true }), [setParams]);
  const onGraphSelect = useCallback(
    (nodeId: string | null) => {
      if (!nodeId || !graph) return setParams({ msg: null, node: null }, { replace: true });
      const members = graph.members.get(nodeId);
      if (members && members.length === 1 && nodeId === messageNodeId(members[0]))
        setParams({ msg: members[0], node: null }, { replace: true });
      else if (members) setParams({ node: nodeId, msg: null }, { replace: true });
    },
    [graph, setParams],
  );

  if (query.isPending) return <Loading what={`flow ${conversationId}`} />;
  if (query.isError) {
    return (
      <div className="page">
        <ErrorState error={query.error} what={`flow ${conversationId}`} />
        <Link href={linkTo({ view: 'flows' })}>← back to flows</Link>
      </div>
    );
  }
  const f = flow!;
  const g = graph!;
  const loaded = f.messages.length;
  const close = () => setParams({ msg: null, node: null }, { replace: true });

  return (
    <div className="flow-detail">
      <header className="flow-header">
        <div>
          <h1>
            {f.rootType || '(untyped flow)'} <span className={`state-tag state-${f.state}`}>{f.state}</span>
          </h1>
          <div className="sub mono" data-testid="conversation-id">
            {f.conversationId}
          </div>
        </div>
        <Facts
          rows={[
            ['Started', formatClock(f.startMs)],
            ['Duration', formatDuration(f.durationMs)],
            ['Messages', String(f.messageCount)],
            ['Services', f.services.join(', ')],
          ]}
        />
        <CountBadges counts={f.anomalyCounts} />
      </header>
      <LedgerPanel ledger={f.ledger} verdict={f.verdict} />
      {f.truncated && (
        <div className="warn-bar">This flow has more spans than the collector reads for one flow; what is shown covers the first ones.</div>
      )}
      {loaded < f.page.total && (
        <div className="warn-bar">
          Showing {loaded} of {f.page.total} messages.{' '}
          <button type="button" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
            {query.isFetchingNextPage ? 'Loading…' : `Load ${Math.min(FLOW_PAGE_SIZE, f.page.total - loaded)} more`}
          </button>
        </div>
      )}
      {f.anomalies.length > 0 && (
        <details className="anomaly-summary" open={f.anomalies.length <= 8}>
          <summary>{f.anomalies.length} anomalies</summary>
          <ul className="anomaly-lines">
            {f.anomalies.slice(0, 200).map((a, i) => (
              <li key={i} className={`severity-${a.severity}`}>
                <button type="button" className="linkish" onClick={() => selectMessage(a.messageId)}>
                  {a.detail}
                </button>
              </li>
            ))}
          </ul>
        </details>
      )}
      <div className="flow-body">
        <section className="graph-pane">
          <div className="graph-toolbar">
            <span className="muted">
              {g.mode === 'types'
                ? `Summarised by message type (${loaded} messages)`
                : `${loaded} messages${g.collapsedGroups ? ` · ${g.collapsedGroups} repeated groups collapsed` : ''}`}
            </span>
            <button type="button" onClick={() => fitGraph('flow')}>
              Fit
            </button>
          </div>
          <CytoscapeGraph
            key={conversationId}
            name="flow"
            elements={g.elements}
            stylesheet={FLOW_STYLE}
            selectedId={graphSelection}
            onSelect={onGraphSelect}
            rankSep={40}
            nodeSep={14}
          />
          <FlagLegend />
        </section>
        <section className="timeline-pane">
          <FlowTimeline rows={rows} selectedMessageId={selectedMessageId} onSelect={selectMessage} />
        </section>
        {message && (
          <MessagePanel message={message} anomalies={f.anomalies.filter((a) => a.messageId === message.messageId)} onClose={close} />
        )}
        {!message && selectedNode && g.members.has(selectedNode) && (
          <GroupPanel graph={g} nodeId={selectedNode} flow={f} onSelectMessage={selectMessage} onClose={close} />
        )}
      </div>
    </div>
  );
}
