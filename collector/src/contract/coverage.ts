/**
 * `GET /api/coverage`: instrumentation coverage per service and endpoint — the shares of spans
 * carrying the evidence the verdicts rest on, and which verdicts each service makes unknown.
 */
import { z } from 'zod/mini';
import { TimeWindowSchema } from './time-window.js';

/** The exactly-once invariants a coverage gap can make unknown (the flow ledger's, in its order). */
export const COVERAGE_INVARIANTS = ['noDuplicateProcessing', 'noGhost', 'noLost', 'consistentOutput'] as const;
export const CoverageInvariantSchema = z.enum(COVERAGE_INVARIANTS);
export type CoverageInvariant = z.infer<typeof CoverageInvariantSchema>;

export const UnknownVerdictSchema = z.object({
  invariant: CoverageInvariantSchema,
  /** What is missing, with counts, e.g. "12 of 40 attempts record no outcome: …". */
  reason: z.string(),
});
export type UnknownVerdict = z.infer<typeof UnknownVerdictSchema>;

/** A share from 0 to 1; null when there is nothing to share (no spans of that kind). */
const share = z.nullable(z.number());

/** Attempt coverage of one endpoint (`onceflow.endpoint`, else service/queue, else the service). */
export const EndpointCoverageSchema = z.object({
  endpoint: z.string(),
  attempts: z.number(),
  attemptsWithMessageId: z.number(),
  attemptsWithOutcome: z.number(),
  processed: z.number(),
  processedWithCommit: z.number(),
  outcomeShare: share,
  commitShare: share,
});
export type EndpointCoverage = z.infer<typeof EndpointCoverageSchema>;

export const ServiceCoverageSchema = z.object({
  service: z.string(),
  spans: z.number(),
  withMessageId: z.number(),
  withConversation: z.number(),
  sends: z.number(),
  sendsWithMessageId: z.number(),
  sendsWithDigest: z.number(),
  attempts: z.number(),
  attemptsWithMessageId: z.number(),
  attemptsWithOutcome: z.number(),
  processed: z.number(),
  processedWithCommit: z.number(),
  /** Spans carrying a message id, of all its spans. */
  messageIdShare: share,
  /** Spans belonging to a flow (conversation id), of all its spans. */
  conversationShare: share,
  /** Sends and attempts carrying a message id, of its sends and attempts. */
  messagingIdentityShare: share,
  digestShare: share,
  outcomeShare: share,
  commitShare: share,
  /** Spans received with Onceflow's export numbers (`onceflow.export.seq`); 0 when the SDK does not number them. */
  numberedSpans: z.number(),
  /** Numbers that never arrived while their neighbours did: spans lost between the SDK and the store. */
  lostAtExport: z.number(),
  /** Lost of lost + received numbered spans; null when the service's spans are not numbered. */
  exportLossShare: share,
  endpoints: z.array(EndpointCoverageSchema),
  unknownVerdicts: z.array(UnknownVerdictSchema),
});
export type ServiceCoverage = z.infer<typeof ServiceCoverageSchema>;

export const CoverageSchema = z.extend(TimeWindowSchema, {
  /** Services that make the most verdicts unknown first (what to instrument next), then by name. */
  services: z.array(ServiceCoverageSchema),
});
export type Coverage = z.infer<typeof CoverageSchema>;
