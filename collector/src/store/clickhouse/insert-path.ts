/**
 * What `insertSpans` does before the insert: drop spans already stored (an exporter retry) and
 * find, for each attempt, the earliest known send of its message id (`first_send_ns`, which the
 * rollup turns into queue latency without a join).
 *
 * Both answers come from one lookup query per chunk of the batch: stored ids from `spans`
 * (range-pruned on the batch's `ts` span), earliest sends from `spans_by_message` (primary-key
 * lookup) for attempts whose send is neither in the batch nor in the in-memory cache. Only spans
 * that start no later than the newest second stored so far can be stored already, so live
 * traffic mostly skips the first part. Batches are serialized (`SpanInserter`), so two copies of
 * one batch cannot both pass the check. A second
 * collector process writing the same spans at the same moment could still slip a duplicate
 * in: row reads stay exact (LIMIT 1 BY) and merges collapse the rows, only the rollup would
 * count it twice.
 */
import { isAttemptSpan, isSend } from '../../model/span-roles.js';
import type { SpanRow } from '../../model/span.js';
import { spanKey, uniqueSpans } from '../store-inputs.js';
import type { QueryRunner } from './clickhouse-client.js';
import { SPAN_FLAT_COLUMNS } from './schema.js';
import { toInsertRow, type SpanInsertRow } from './span-rows.js';
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
  const seconds = [...new Set(spans.map(startSecond))].sort((a, b) => a - b);
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
 * v: service/destination/messageId, n: start ns}` for every stored processed attempt of
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
    // The lookup table keeps no destination column: it is read from the encoded span.
    parts.push(sql`SELECT 'processed' AS k, concat(service, '/', visitParamExtractString(row_json, 'destination'), '/', message_id) AS v,
  start_ns AS n FROM ${db}.spans_by_message
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

/** The endpoint (service, destination consumed from) and message id: what a repeat processing repeats. */
export const processedKey = (span: Pick<SpanRow, 'service' | 'destination' | 'messageId'>) =>
  `${span.service}/${span.destination}/${span.messageId}`;

/**
 * For each processed attempt to insert, the start of the latest processed attempt of the same
 * endpoint and message id that started before it — among stored ones and the batch — or 0n.
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

/**
 * The ClickHouse store's span writes, one batch at a time: the duplicate lookup above, then
 * insert rows with `first_send_ns` and `prev_processed_ns` filled in.
 */
export class SpanInserter {
  private writes: Promise<void> = Promise.resolve();
  /** Newest `ts` (unix s) in `spans`, read at init and advanced by this store's inserts. */
  newestStoredS = Number.MAX_SAFE_INTEGER;
  private readonly firstSends = new FirstSendCache();

  constructor(
    private readonly runner: QueryRunner,
    private readonly db: SqlFragment,
  ) {}

  /**
   * Serialized (one batch at a time): spans already stored are dropped after one lookup per
   * chunk, so the rollup counts every span once.
   */
  insertSpans(spans: SpanRow[]): Promise<void> {
    const run = this.writes.then(() => this.insertBatch(spans));
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async insertBatch(spans: SpanRow[]): Promise<void> {
    const batch = uniqueSpans(spans);
    const sends = batchFirstSends(batch);
    const chunks: SpanRow[][] = [];
    for (let i = 0; i < batch.length; i += LOOKUP_CHUNK) chunks.push(batch.slice(i, i + LOOKUP_CHUNK));
    const stored = new Set<string>();
    const lookedUp = new Map<string, bigint>();
    const storedProcessed = new Map<string, bigint[]>();
    // Two lookups in flight at a time: the server parses one while it scans the other.
    for (let i = 0; i < chunks.length; i += 2) {
      await Promise.all(
        chunks.slice(i, i + 2).map(async (chunk) => {
          const candidates = chunk.filter((span) => startSecond(span) <= this.newestStoredS);
          const processedIds = [
            ...new Set(
              chunk
                .filter((span) => isProcessedAttempt(span) && !this.sentAfterEverythingStored(sends.get(span.messageId)))
                .map((span) => span.messageId),
            ),
          ];
          const query = lookupSql(this.db, candidates, unresolvedMessages(chunk, sends, this.firstSends), processedIds);
          if (!query) return;
          const found = await this.runner.rows<{ k: string; v: string; n: string }>(query, { max_query_size: '1048576' });
          for (const { k, v, n } of found) {
            if (k === 'stored') stored.add(v);
            else if (k === 'send') lookedUp.set(v, BigInt(n));
            else {
              const list = storedProcessed.get(v);
              if (list) list.push(BigInt(n));
              else storedProcessed.set(v, [BigInt(n)]);
            }
          }
        }),
      );
    }
    await this.insertRows(
      batch.filter((span) => !stored.has(spanKey(span))),
      sends,
      lookedUp,
      storedProcessed,
    );
  }

  /**
   * Bulk load (benchmarks, imports): inserts spans known NOT to be stored yet, without the
   * duplicate lookup. Earliest sends and earlier processed attempts are resolved from the batch
   * and the in-memory send cache only, so each batch must hold whole conversations (or at least
   * every send and attempt of each message in it). Rows are built exactly as `insertSpans`
   * builds them, and the insert fires the same materialized views.
   */
  loadSpans(spans: SpanRow[]): Promise<void> {
    const run = this.writes.then(() => this.insertRows(spans, batchFirstSends(spans), new Map(), new Map()));
    this.writes = run.catch(() => undefined);
    return run;
  }

  /** Builds insert rows (with `first_send_ns`, `prev_processed_ns`) and inserts them. */
  private async insertRows(
    toInsert: SpanRow[],
    sends: Map<string, bigint>,
    lookedUp: Map<string, bigint>,
    storedProcessed: Map<string, bigint[]>,
  ): Promise<void> {
    const previous = previousProcessed(toInsert, storedProcessed);
    const rows: SpanInsertRow[] = [];
    let newest = this.newestStoredS;
    for (const span of toInsert) {
      const row = toInsertRow(span);
      const prev = previous.get(span);
      if (prev) row.prev_processed_ns = prev.toString();
      if (span.messageId !== '' && isAttemptSpan(span)) {
        const first = earliest(sends.get(span.messageId), this.firstSends.get(span.messageId), lookedUp.get(span.messageId));
        row.first_send_ns = first.toString();
      }
      rows.push(row);
      newest = Math.max(newest, row.ts as number);
    }
    // Advanced before the insert: a failed insert may have committed some partitions, and a
    // higher mark only means more lookups on the retry.
    this.newestStoredS = newest;
    await this.runner.insert(`${this.db}.spans`, SPAN_FLAT_COLUMNS, rows);
    for (const [messageId, startNs] of sends) this.firstSends.offer(messageId, startNs);
  }

  /**
   * A message whose send in this batch is newer than every stored span cannot have a stored
   * attempt (an attempt starts after its send), so its processed attempts need no lookup.
   */
  private sentAfterEverythingStored(sendNs: bigint | undefined): boolean {
    return sendNs !== undefined && Number(sendNs / 1_000_000_000n) > this.newestStoredS;
  }
}
