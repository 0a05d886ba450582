/** The time window every windowed endpoint, store query and dashboard view works over. */
import { z } from 'zod/mini';

/** Half-open window [fromMs, toMs) in epoch milliseconds. */
export const TimeWindowSchema = z.object({
  fromMs: z.number(),
  toMs: z.number(),
});
export type TimeWindow = z.infer<typeof TimeWindowSchema>;
