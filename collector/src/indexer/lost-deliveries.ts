/**
 * Flows to judge again because a delivery of one of their messages was lost at export, as the
 * export streams name it (`analysis/export-losses.ts`). A redelivery long after a flow's verdict
 * (a visibility timeout, a replay) whose span never arrived leaves no span to trigger the flow's
 * analysis, and comes after its second look; the delivery after it names the message, and this
 * finds the flow by that id, so its verdict turns `unknown` however late.
 *
 * Each named loss is looked up once (bounded memory), at most `MAX_LOOKUPS` per analysis: a
 * service losing many spans spreads its lookups over the analyses that read its losses.
 */
import type { EntryLoss } from '../analysis/index.js';
import type { SpanStore } from '../store/span-store.js';

const MAX_LOOKUPS = 20;
/** Spans read per named message: enough to find its conversations. */
const MAX_SPANS_PER_MESSAGE = 50;
const REMEMBERED = 100_000;

export interface LostDeliveryWatch {
  /**
   * The conversations of the messages that `losses` name and that are not among `ownMessages`
   * (judged with this analysis), for each loss not looked up before.
   */
  flowsToJudgeAgain(losses: readonly EntryLoss[], ownMessages: ReadonlySet<string>): Promise<string[]>;
}

export function createLostDeliveryWatch(store: SpanStore): LostDeliveryWatch {
  const seen = new Set<string>();
  return {
    async flowsToJudgeAgain(losses, ownMessages) {
      const fresh: string[] = [];
      for (const loss of losses) {
        if (fresh.length >= MAX_LOOKUPS) break;
        if (loss.messageId === null) continue;
        const key = `${loss.service}\u0000${loss.stream}\u0000${loss.messageId}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (seen.size > REMEMBERED) seen.delete(seen.values().next().value as string);
        if (!ownMessages.has(loss.messageId)) fresh.push(loss.messageId);
      }
      const spans = await Promise.all(fresh.map((id) => store.spansOfMessage(id, MAX_SPANS_PER_MESSAGE)));
      return [...new Set(spans.flat().map((span) => span.conversationId))].filter(Boolean);
    },
  };
}
