/**
 * The export sequence aggregate of the DuckDB store (`exportSequences`): per service, export
 * stream and time bucket, the range and count of the span numbers received. Holes in it are
 * spans lost at export (see `analysis/export-losses.ts`).
 */
import { ATTR_EXPORT_SEQ, ATTR_EXPORT_STREAM } from '@onceflow/instrumentation/semconv';
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
      min(start_ns) / 1000000 AS first_start_ms, max(start_ns) / 1000000 AS last_start_ms
    FROM (
      SELECT service, start_ns, start_ns // $3 AS bucket,
        ${attribute(ATTR_EXPORT_STREAM)} AS stream,
        TRY_CAST(${attribute(ATTR_EXPORT_SEQ)} AS BIGINT) AS seq
      FROM spans WHERE start_ns >= $1 AND start_ns < $2
    )
    WHERE stream IS NOT NULL AND seq IS NOT NULL
    GROUP BY service, stream, bucket
    ORDER BY service, stream, bucket`;
  return { sql, params: [fromNs, toNs, stepNs] };
}
