/**
 * The export sequence aggregate of the ClickHouse store (`exportSequences`): per service, export
 * stream and time bucket, the range and count of the span numbers received, and the range of
 * the entry counts they carry. Holes in it are spans lost at export; the entry spans
 * (`exportEntries`) tell which of those were deliveries, and of which message (see
 * `analysis/export-losses.ts`).
 */
import { ATTR_EXPORT_ENTRIES, ATTR_EXPORT_PREVIOUS_ENTRIES, ATTR_EXPORT_SEQ, ATTR_EXPORT_STREAM } from '@onceflow/instrumentation/semconv';
import { msToNs } from '../../model/span.js';
import type { TimeWindow } from '../span-store.js';
import { windowCondition } from './row-queries.js';
import { attribute } from './span-roles-sql.js';
import { sql, type SqlFragment } from './sql-escape.js';

export function exportSequencesSql(db: SqlFragment, window: TimeWindow, stepMs: number): SqlFragment {
  const stepNs = msToNs(stepMs);
  return sql`SELECT service, stream, bucket * ${stepNs} / 1000000 AS bucket_ms,
  min(seq) AS min_seq, max(seq) AS max_seq, uniqExact(seq) AS received,
  min(start_ns) / 1000000 AS first_start_ms, max(start_ns) / 1000000 AS last_start_ms,
  if(min(counted) = 1, toInt64(min(entries)), -1) AS min_entries,
  if(min(counted) = 1, toInt64(max(entries)), -1) AS max_entries
FROM (
  SELECT service, start_ns, intDiv(start_ns, ${stepNs}) AS bucket,
    ${attribute(ATTR_EXPORT_STREAM)} AS stream,
    toUInt64OrZero(${attribute(ATTR_EXPORT_SEQ)}) AS seq,
    ${attribute(ATTR_EXPORT_ENTRIES)} AS entries_text,
    toUInt64OrZero(entries_text) AS entries,
    entries_text != '' AND toString(entries) = entries_text AS counted
  FROM ${db}.spans
  WHERE ${windowCondition(window)}
)
WHERE stream != '' AND seq > 0
GROUP BY service, stream, bucket
ORDER BY service, stream, bucket`;
}

export function exportEntriesSql(db: SqlFragment, window: TimeWindow): SqlFragment {
  return sql`SELECT service, stream, entries, previous_entries, start_ns / 1000000 AS start_ms
FROM (
  SELECT service, start_ns,
    ${attribute(ATTR_EXPORT_STREAM)} AS stream,
    ${attribute(ATTR_EXPORT_ENTRIES)} AS entries_text,
    toUInt64OrZero(entries_text) AS entries,
    ${attribute(ATTR_EXPORT_PREVIOUS_ENTRIES)} AS previous_entries
  FROM ${db}.spans
  WHERE ${windowCondition(window)} AND kind IN ('consumer', 'server')
)
WHERE stream != '' AND entries_text != '' AND toString(entries) = entries_text
ORDER BY service, stream, entries, start_ms`;
}
