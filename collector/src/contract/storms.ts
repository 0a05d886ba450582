/** `GET /api/storms`: bursts of duplicates or retries per (service, message type) above their own baseline. */
import { z } from 'zod/mini';
import { TimeWindowSchema } from './time-window.js';

export const STORM_KINDS = ['duplicate', 'retry'] as const;
export const StormKindSchema = z.enum(STORM_KINDS);
export type StormKind = z.infer<typeof StormKindSchema>;

/** A burst of duplicates or retries for one (service, message type) well above its baseline. */
export const StormSchema = z.object({
  id: z.string(),
  kind: StormKindSchema,
  service: z.string(),
  messageType: z.string(),
  startMs: z.number(),
  endMs: z.number(),
  /** Highest events per minute in one bucket of the episode. */
  peakPerMinute: z.number(),
  /** Trailing baseline events per minute before the episode. */
  baselinePerMinute: z.number(),
  count: z.number(),
  /** Message ids with the most duplicate (or retry) attempts during the episode. */
  topKeys: z.array(z.object({ messageId: z.string(), count: z.number() })),
});
export type Storm = z.infer<typeof StormSchema>;

export const StormListSchema = z.extend(TimeWindowSchema, {
  stepMs: z.number(),
  storms: z.array(StormSchema),
});
export type StormList = z.infer<typeof StormListSchema>;
