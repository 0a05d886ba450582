/** `GET /api/messages/:messageId`: every send, delivery and attempt of one message, across traces and endpoints. */
import { z } from 'zod/mini';
import { AnomalySchema } from './anomalies.js';
import { FlowMessageSchema } from './flow-detail.js';

export const MessageHistorySchema = z.object({
  messageId: z.string(),
  /** Sends, deliveries and attempts of the message; null if its spans carried none. */
  message: z.nullable(FlowMessageSchema),
  conversationIds: z.array(z.string()),
  traceIds: z.array(z.string()),
  /** Anomalies about this message: from its flows' records when indexed, else judged on its own spans. */
  anomalies: z.array(AnomalySchema),
  spanCount: z.number(),
  /** More spans carried this id than were read. */
  truncated: z.boolean(),
});
export type MessageHistory = z.infer<typeof MessageHistorySchema>;
