/**
 * The export sequence aggregate of the ClickHouse store (`exportSequences`): per service, export
 * stream and time bucket, the range and count of the span numbers received. Holes in it are
 * spans lost at export (see `analysis/export-losses.ts`).
 */
import { ATTR_EXPORT_SEQ, ATTR_EXPORT_STREAM } from '@onceflow/instrumentation/semconv';
import { msToNs } from '../../model/span.js';
import type { TimeWindow } from '../span-store.js';
import { windowCondition } from './row-queries.js';
import { attribute } from './span-roles-sql.js';
import { sql, type SqlFragment } from './sql-escape.js';

export function exportSequencesSql(db: SqlFragment, window: TimeWindow, stepMs: number): SqlFragment {
  const stepNs = msToNs(stepMs);
  return sql`SELECT service, stream, bucket * ${stepNs} / 1000000 AS bucket_ms,
  min(seq) AS min_seq, max(seq) AS max_seq, uniqExact(seq) AS received,
  min(start_ns) / 1000000 AS first_start_ms, max(start_ns) / 1000000 AS last_start_ms
FROM (
  SELECT service, start_ns, intDiv(start_ns, ${stepNs}) AS bucket,
    ${attribute(ATTR_EXPORT_STREAM)} AS stream,
    toUInt64OrZero(${attribute(ATTR_EXPORT_SEQ)}) AS seq
  FROM ${db}.spans
  WHERE ${windowCondition(window)}
)
WHERE stream != '' AND seq > 0
GROUP BY service, stream, bucket
ORDER BY service, stream, bucket`;
}
