/**
 * What `insertSpans` does before the insert: drop spans already stored (an exporter retry) and
 * find, for each attempt, the earliest known send of its message id (`first_send_ns`, which the
 * rollup turns into queue latency without a join).
 *
 * Both answers come from one lookup query per chunk of the batch: stored ids from `spans`
 * (range-pruned on the batch's `ts` span), earliest sends from `spans_by_message` (primary-key
 * lookup) for attempts whose send is neither in the batch nor in the in-memory cache. Only spans
 * that start no later than the newest second stored so far can be stored already, so live
 * traffic mostly skips the first part. Batches are serialized by the store, so two copies of
 * one batch cannot both pass the check. A second
 * collector process writing the same spans at the same moment could still slip a duplicate
 * in: row reads stay exact (LIMIT 1 BY) and merges collapse the rows, only the rollup would
 * count it twice.
 */
import { isAttemptSpan, isSend } from '../../model/span-roles.js';
import type { SpanRow } from '../../model/span.js';
import { IS_ATTEMPT, IS_SEND } from './span-roles-sql.js';
import { SqlFragment, joinSql, sql, sqlInList } from './sql-escape.js';

/**
 * Spans per lookup query: span ids alone (the trace id is compared in the result) keep the SQL
 * text near 100 KiB, under 18.16's max_query_size (256 KiB), and cheap to parse.
 */
export const LOOKUP_CHUNK = 5000;
const NS_PER_S = 1_000_000_000n;

/** Earliest send per message id, bounded (oldest entries go first). */
export class FirstSendCache {
  private readonly map = new Map<string, bigint>();
  constructor(private readonly capacity = 200_000) {}

  get(messageId: string): bigint | undefined {
    return this.map.get(messageId);
  }

  offer(messageId: string, startNs: bigint): void {
    const known = this.map.get(messageId);
    if (known !== undefined && known <= startNs) return;
    this.map.delete(messageId);
    this.map.set(messageId, startNs);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }
}

/**
 * `ts` conditions covering the batch: consecutive seconds closer than a minute are merged into
 * one BETWEEN, so a batch of live spans is one small range and a batch with a few far-apart
 * stragglers does not scan everything in between.
 */
export function secondRanges(spans: readonly SpanRow[]): SqlFragment {
  const seconds = [...new Set(spans.map(startSecond))].sort(
    (a, b) => a - b,
  );
  const ranges: [number, number][] = [];
  for (const second of seconds) {
    const last = ranges[ranges.length - 1];
    if (last && second - last[1] <= 60) last[1] = second;
    else ranges.push([second, second]);
  }
  return joinSql(
    ranges.map(([from, to]) => sql`(ts >= toDateTime(${from}) AND ts <= toDateTime(${to}))`),
    ' OR ',
  );
}

/** Message ids of attempts in `spans` whose earliest send is not known from the batch or cache. */
export function unresolvedMessages(spans: readonly SpanRow[], batchSends: Map<string, bigint>, cache: FirstSendCache): string[] {
  const ids = new Set<string>();
  for (const span of spans) {
    if (span.messageId === '' || !isAttemptSpan(span)) continue;
    if (!batchSends.has(span.messageId) && cache.get(span.messageId) === undefined) ids.add(span.messageId);
  }
  return [...ids];
}

/**
 * One query: rows `{k: 'stored', v: traceId/spanId}` for `candidates` already in `spans`,
 * `{k: 'send', v: messageId, n: earliest ns}` for `messageIds`, and `{k: 'processed',
 * v: service/messageId, n: start ns}` for every stored processed attempt of
 * `processedMessageIds`; null when there is nothing to ask.
 */
export function lookupSql(
  db: SqlFragment,
  candidates: readonly SpanRow[],
  messageIds: readonly string[],
  processedMessageIds: readonly string[] = [],
): SqlFragment | null {
  const parts: SqlFragment[] = [];
  if (candidates.length > 0) {
    parts.push(sql`SELECT 'stored' AS k, concat(trace_id, '/', span_id) AS v, toUInt64(0) AS n FROM ${db}.spans
WHERE (${secondRanges(candidates)}) AND span_id IN ${sqlInList([...new Set(candidates.map((span) => span.spanId))])}`);
  }
  if (messageIds.length > 0) {
    parts.push(sql`SELECT 'send' AS k, message_id AS v, min(start_ns) AS n FROM ${db}.spans_by_message
WHERE message_id IN ${sqlInList(messageIds)} AND ${IS_SEND}
GROUP BY message_id`);
  }
  if (processedMessageIds.length > 0) {
    parts.push(sql`SELECT 'processed' AS k, concat(service, '/', message_id) AS v, start_ns AS n FROM ${db}.spans_by_message
WHERE message_id IN ${sqlInList(processedMessageIds)} AND outcome = 'processed' AND ${IS_ATTEMPT}`);
  }
  return parts.length > 0 ? joinSql(parts, '\nUNION ALL\n') : null;
}

/** Start second of a span as stored in `ts`. */
export const startSecond = (span: SpanRow) => Number((span.startNs < 0n ? 0n : span.startNs) / NS_PER_S);

/** Earliest send per message id among the sends of a batch. */
export function batchFirstSends(spans: readonly SpanRow[]): Map<string, bigint> {
  const sends = new Map<string, bigint>();
  for (const span of spans) {
    if (span.messageId === '' || !isSend(span)) continue;
    const known = sends.get(span.messageId);
    if (known === undefined || span.startNs < known) sends.set(span.messageId, span.startNs);
  }
  return sends;
}

/** The earliest of the known sends, or 0n when none is known. */
export function earliest(...candidates: (bigint | undefined)[]): bigint {
  let best: bigint | undefined;
  for (const candidate of candidates) if (candidate !== undefined && (best === undefined || candidate < best)) best = candidate;
  return best ?? 0n;
}

/** A processed attempt: what duplicate processing is counted over. */
export const isProcessedAttempt = (span: SpanRow) => span.messageId !== '' && span.outcome === 'processed' && isAttemptSpan(span);

export const processedKey = (span: Pick<SpanRow, 'service' | 'messageId'>) => `${span.service}/${span.messageId}`;

/**
 * For each processed attempt to insert, the start of the latest processed attempt of the same
 * (service, message id) that started before it — among stored ones and the batch — or 0n.
 */
export function previousProcessed(toInsert: readonly SpanRow[], stored: Map<string, bigint[]>): Map<SpanRow, bigint> {
  const starts = new Map<string, bigint[]>();
  for (const [key, list] of stored) starts.set(key, [...list]);
  for (const span of toInsert) {
    if (!isProcessedAttempt(span)) continue;
    const key = processedKey(span);
    const list = starts.get(key);
    if (list) list.push(span.startNs);
    else starts.set(key, [span.startNs]);
  }
  const previous = new Map<SpanRow, bigint>();
  for (const span of toInsert) {
    if (!isProcessedAttempt(span)) continue;
    let best = 0n;
    for (const start of starts.get(processedKey(span)) ?? []) if (start < span.startNs && start > best) best = start;
    previous.set(span, best);
  }
  return previous;
}
