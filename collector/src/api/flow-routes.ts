/**
 * Flows: the list (from the indexer's flow records), one reconstructed flow (from its spans),
 * one message across traces, and search by any id or attribute value.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { analyzeConversation, reconstructFlow, type ModelOptions } from '../analysis/index.js';
import { completeFlowSpans } from '../indexer/flow-spans.js';
import { businessKeyOrderOf } from '../indexer/business-key-spans.js';
import { FLOW_STATES, VERDICTS } from '../contract/index.js';
import type { Flow, FlowSummary } from '../model/flow.js';
import { InvalidCursorError } from '../store/flow-cursor.js';
import type { ApiContext } from './context.js';
import { NotFoundError } from './errors.js';
import { toFlowSummary } from './flow-summary.js';
import { describeMessage } from './message-history.js';
import {
  anomalyKindParam,
  BadParameterError,
  booleanParam,
  enumParam,
  intParam,
  parseParams,
  resolveWindow,
  textParam,
  windowParams,
} from './params.js';

/** Spans read for one flow; beyond this the flow is marked `truncated` (counts cover what was read). */
export const MAX_FLOW_SPANS = 50_000;
/** Spans read for one message (every send and attempt across traces). */
export const MAX_MESSAGE_SPANS = 5000;
/** Spans of the message's conversation read to judge the message in context. */
const MAX_CONTEXT_SPANS = 5000;
/** Spans read to summarise a search hit that the indexer has not recorded yet. */
const MAX_SEARCH_SPANS = 5000;

const flowListQuery = z.object({
  ...windowParams,
  q: textParam().optional(),
  service: textParam().optional(),
  messageType: textParam().optional(),
  anomaly: anomalyKindParam.optional(),
  complete: booleanParam.optional(),
  state: enumParam(FLOW_STATES).optional(),
  verdict: enumParam(VERDICTS).optional(),
  limit: intParam(1, 500).optional(),
  cursor: textParam(1024).optional(),
});

const idParams = (name: string) => z.object({ [name]: textParam() });
const flowQuery = z.object({ offset: intParam(0, 10_000_000).optional(), limit: intParam(1, 2000).optional() });
const searchQuery = z.object({ q: textParam(), limit: intParam(1, 100).optional() });

/** Options of an analysis run now: the indexer's learned delivery expectations, so the API judges as the indexer does. */
function analysisOptions(ctx: ApiContext): ModelOptions {
  return { now: ctx.clock(), quietPeriodMs: ctx.quietPeriodMs, ...ctx.indexer?.expectations() };
}

export function registerFlowRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { store } = ctx;

  app.get('/api/flows', async (request) => {
    const query = parseParams(flowListQuery, request.query);
    const window = resolveWindow(query, ctx.clock());
    const page = await store
      .listFlows({
        ...window,
        q: query.q,
        service: query.service,
        messageType: query.messageType,
        anomaly: query.anomaly,
        complete: query.complete,
        state: query.state,
        verdict: query.verdict,
        limit: query.limit ?? 50,
        cursor: query.cursor,
      })
      .catch((error: Error) => {
        // Stores refuse a cursor they did not issue; that is the caller's mistake, not ours.
        if (error instanceof InvalidCursorError) {
          throw new BadParameterError('cursor', 'cursor: pass back the nextCursor of a previous page');
        }
        throw error;
      });
    return { fromMs: window.fromMs, toMs: window.toMs, ...page };
  });

  app.get('/api/flows/:conversationId', async (request): Promise<Flow> => {
    const { conversationId } = parseParams(idParams('conversationId'), request.params) as { conversationId: string };
    const { offset = 0, limit = 200 } = parseParams(flowQuery, request.query);
    const spans = await store.spansOfConversation(conversationId, MAX_FLOW_SPANS + 1);
    if (spans.length === 0) throw new NotFoundError(`no spans of conversation "${conversationId}"`);
    const truncated = spans.length > MAX_FLOW_SPANS;
    if (truncated) spans.length = MAX_FLOW_SPANS;
    const options = analysisOptions(ctx);
    // The flow record does not depend on the spans: read while they are completed and judged.
    const recordRead = ctx.indexer ? store.getFlowRecord(conversationId) : Promise.resolve(null);
    recordRead.catch(() => undefined);
    const all = await completeFlowSpans(store, conversationId, spans, options);
    const businessKeyOrder = await businessKeyOrderOf(store, all, truncated ? undefined : { conversationId, spans });
    // The indexer's export evidence too: otherwise a flow listed `unknown` for spans lost at
    // export would show here as the fault the missing spans only seem to prove. Losses up to
    // when the indexer last judged it, as the list shows it: a busy service loses spans every
    // few seconds, and counting every later one would turn any flow opened later `unknown`.
    const record = await recordRead;
    const judgedAtMs = record && record.state !== 'active' ? Math.min(record.analyzedAtMs, options.now) : options.now;
    const exportEvidence = (await ctx.indexer?.exportEvidence(all, options.now, judgedAtMs)) ?? {};
    return reconstructFlow(all, { ...options, ...exportEvidence, businessKeyOrder, page: { offset, limit }, truncated });
  });

  app.get('/api/messages/:messageId', async (request) => {
    const { messageId } = parseParams(idParams('messageId'), request.params) as { messageId: string };
    const spans = await store.spansOfMessage(messageId, MAX_MESSAGE_SPANS + 1);
    const truncated = spans.length > MAX_MESSAGE_SPANS;
    if (truncated) spans.length = MAX_MESSAGE_SPANS;
    // The spans include the attempts listing the id as outgoing, so a message lost in an outbox
    // (never sent) is found by its producer; the search index is the last resort.
    const conversationIds =
      spans.length > 0
        ? [...new Set(spans.map((span) => span.conversationId).filter(Boolean))].slice(0, 20)
        : await store.findConversations(messageId, 1);
    // Spans without a conversation (stored before conversations were derived, or a transport
    // span whose child carries it) still describe the message on their own.
    if (conversationIds.length === 0 && spans.length === 0) throw new NotFoundError(`no spans of message "${messageId}"`);
    const records = await Promise.all(conversationIds.map((id) => store.getFlowRecord(id)));
    // Judged with its flow's record when indexed; otherwise (or when the message has no span of
    // its own) the flow is read for context.
    const needsContext = spans.length === 0 || records.every((record) => record === null);
    const context =
      needsContext && conversationIds.length === 1 ? await store.spansOfConversation(conversationIds[0], MAX_CONTEXT_SPANS + 1) : [];
    const history = describeMessage(messageId, spans, {
      ...analysisOptions(ctx),
      truncated,
      // A huge conversation is not read whole for one message; its recorded anomalies still count.
      context: context.length <= MAX_CONTEXT_SPANS ? context : [],
      recordedAnomalies: records.flatMap((record) => record?.anomalies ?? []),
    });
    if (!history.message && spans.length === 0) throw new NotFoundError(`no spans of message "${messageId}"`);
    return history;
  });

  app.get('/api/search', async (request) => {
    const { q, limit = 20 } = parseParams(searchQuery, request.query);
    const ids = await store.findConversations(q, limit);
    const flows = await Promise.all(ids.map((id) => summarise(ctx, id)));
    return { q, flows: flows.filter((flow): flow is FlowSummary => flow !== null) };
  });
}

/** The indexed summary of a conversation, or one computed now when the indexer has not caught up. */
async function summarise(ctx: ApiContext, conversationId: string): Promise<FlowSummary | null> {
  const record = await ctx.store.getFlowRecord(conversationId);
  if (record) return toFlowSummary(record);
  const spans = await ctx.store.spansOfConversation(conversationId, MAX_SEARCH_SPANS);
  if (spans.length === 0) return null;
  return toFlowSummary(analyzeConversation(spans, analysisOptions(ctx)));
}
