/** Flow summaries: `GET /api/flows` (one page of the list) and `GET /api/search`. */
import { z } from 'zod/mini';
import { AnomalyCountsSchema, SeveritySchema } from './anomalies.js';
import { TimeWindowSchema } from './time-window.js';

/** `active` until the quiet period has passed; then `complete` or `incomplete`. */
export const FLOW_STATES = ['active', 'complete', 'incomplete'] as const;
export const FlowStateSchema = z.enum(FLOW_STATES);
export type FlowState = z.infer<typeof FlowStateSchema>;

/** The exactly-once invariants every flow is judged on (the seed's TLA+ models). */
export const INVARIANTS = ['noDuplicateProcessing', 'noGhost', 'noLost', 'consistentOutput'] as const;
export const InvariantSchema = z.enum(INVARIANTS);
export type Invariant = z.infer<typeof InvariantSchema>;

/** `unknown` when evidence is missing: never `violated` on missing evidence. */
export const VERDICTS = ['held', 'violated', 'unknown'] as const;
export const VerdictSchema = z.enum(VERDICTS);
export type Verdict = z.infer<typeof VerdictSchema>;

export const InvariantVerdictSchema = z.object({
  verdict: VerdictSchema,
  /** Span ids that prove a violation, or that the missing evidence concerns. */
  evidence: z.array(z.string()),
  /** Why: what was violated, or what evidence is missing; '' when held. */
  reason: z.string(),
});
export type InvariantVerdict = z.infer<typeof InvariantVerdictSchema>;

/** One verdict per invariant. */
export const LedgerSchema = z.object({
  noDuplicateProcessing: InvariantVerdictSchema,
  noGhost: InvariantVerdictSchema,
  noLost: InvariantVerdictSchema,
  consistentOutput: InvariantVerdictSchema,
});
export type Ledger = z.infer<typeof LedgerSchema>;

/** One business flow in a list: what the flows explorer shows and filters on. */
export const FlowSummarySchema = z.object({
  conversationId: z.string(),
  startMs: z.number(),
  endMs: z.number(),
  durationMs: z.number(),
  /** Every message sent in the conversation was processed. */
  complete: z.boolean(),
  state: FlowStateSchema,
  services: z.array(z.string()),
  messageTypes: z.array(z.string()),
  /** Type of the first message (or the boundary HTTP route), for a readable title. */
  rootType: z.string(),
  messageCount: z.number(),
  spanCount: z.number(),
  idempotencyKeys: z.array(z.string()),
  businessKeys: z.array(z.string()),
  anomalyCounts: AnomalyCountsSchema,
  /** Highest severity among its anomalies; null when it has none. */
  worstSeverity: z.nullable(SeveritySchema),
  /** Per invariant: held, violated (with evidence) or unknown (with the reason). */
  ledger: LedgerSchema,
  /** The flow's overall verdict: `violated` if any invariant is, else `unknown` if any is, else `held`. */
  verdict: VerdictSchema,
});
export type FlowSummary = z.infer<typeof FlowSummarySchema>;

/** One page of the flow list, as the store returns it. */
export const FlowPageSchema = z.object({
  flows: z.array(FlowSummarySchema),
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: z.nullable(z.string()),
  /** Flows per anomaly kind over the whole filtered window (not just this page). */
  anomalyCounts: AnomalyCountsSchema,
  total: z.number(),
});
export type FlowPage = z.infer<typeof FlowPageSchema>;

/** `GET /api/flows`: a `FlowPage` plus the window it covers. */
export const FlowListSchema = z.extend(FlowPageSchema, TimeWindowSchema.shape);
export type FlowList = z.infer<typeof FlowListSchema>;

/** `GET /api/search?q=`: the flows an identifier resolves to, most recent first. */
export const SearchResultSchema = z.object({
  q: z.string(),
  flows: z.array(FlowSummarySchema),
});
export type SearchResult = z.infer<typeof SearchResultSchema>;
