/**
 * The export sequence aggregate of the DuckDB store (`exportSequences`): per service, export
 * stream and time bucket, the range and count of the span numbers received, and the range of
 * the entry counts they carry. Holes in it are spans lost at export; the entry spans
 * (`exportEntries`) tell which of those were deliveries, and of which message (see
 * `analysis/export-losses.ts`).
 */
import { ATTR_EXPORT_ENTRIES, ATTR_EXPORT_PREVIOUS_ENTRIES, ATTR_EXPORT_SEQ, ATTR_EXPORT_STREAM } from '@onceflow/instrumentation/semconv';
import { msToNs } from '../../model/span.js';
import type { TimeWindow } from '../span-store.js';
import { windowNs } from './aggregate-queries.js';
import type { Statement } from './duckdb-client.js';
import { attribute } from './span-roles-sql.js';

export function exportSequencesSql(window: TimeWindow, stepMs: number): Statement {
  const [fromNs, toNs] = windowNs(window);
  const stepNs = msToNs(stepMs);
  const sql = `
    SELECT service, stream, bucket * $3 / 1000000 AS bucket_ms,
      min(seq) AS min_seq, max(seq) AS max_seq, count(DISTINCT seq) AS received,
      min(start_ns) / 1000000 AS first_start_ms, max(start_ns) / 1000000 AS last_start_ms,
      CASE WHEN count(entries) = count(*) THEN min(entries) ELSE -1 END AS min_entries,
      CASE WHEN count(entries) = count(*) THEN max(entries) ELSE -1 END AS max_entries
    FROM (
      SELECT service, start_ns, start_ns // $3 AS bucket,
        ${attribute(ATTR_EXPORT_STREAM)} AS stream,
        TRY_CAST(${attribute(ATTR_EXPORT_SEQ)} AS BIGINT) AS seq,
        TRY_CAST(${attribute(ATTR_EXPORT_ENTRIES)} AS BIGINT) AS entries
      FROM spans WHERE start_ns >= $1 AND start_ns < $2
    )
    WHERE stream IS NOT NULL AND seq IS NOT NULL
    GROUP BY service, stream, bucket
    ORDER BY service, stream, bucket`;
  return { sql, params: [fromNs, toNs, stepNs] };
}

export function exportEntriesSql(window: TimeWindow): Statement {
  const [fromNs, toNs] = windowNs(window);
  const sql = `
    SELECT service, stream, entries, previous_entries, start_ns / 1000000 AS start_ms
    FROM (
      SELECT service, start_ns,
        ${attribute(ATTR_EXPORT_STREAM)} AS stream,
        TRY_CAST(${attribute(ATTR_EXPORT_ENTRIES)} AS BIGINT) AS entries,
        coalesce(${attribute(ATTR_EXPORT_PREVIOUS_ENTRIES)}, '') AS previous_entries
      FROM spans WHERE start_ns >= $1 AND start_ns < $2 AND kind IN ('consumer', 'server')
    )
    WHERE stream IS NOT NULL AND entries IS NOT NULL
    ORDER BY service, stream, entries, start_ms`;
  return { sql, params: [fromNs, toNs] };
}
