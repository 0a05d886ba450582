/**
 * The coverage aggregate of the DuckDB store (`coverageAggregates`): one pass over the window's
 * spans, counted per (service, endpoint) — what `analysis/coverage.ts` shapes into the
 * coverage view. The endpoint rule is the analysis's: `onceflow.endpoint`, else
 * service/destination, else the service; spans that are not attempts count under ''.
 */
import { ATTR_BODY_DIGEST, ATTR_COMMITTED_AT_MS, ATTR_ENDPOINT } from '@onceflow/instrumentation/semconv';
import type { TimeWindow } from '../span-store.js';
import { windowNs } from './aggregate-queries.js';
import type { Statement } from './duckdb-client.js';
import { IS_ATTEMPT, IS_SEND, attribute } from './span-roles-sql.js';

export function coverageSql(window: TimeWindow): Statement {
  const [fromNs, toNs] = windowNs(window);
  const sql = `
    SELECT service, endpoint,
      count(*) AS spans,
      count(*) FILTER (WHERE message_id <> '') AS with_message_id,
      count(*) FILTER (WHERE conversation_id <> '') AS with_conversation,
      count(*) FILTER (WHERE is_send) AS sends,
      count(*) FILTER (WHERE is_send AND message_id <> '') AS sends_with_message_id,
      count(*) FILTER (WHERE is_send AND ${attribute(ATTR_BODY_DIGEST)} IS NOT NULL) AS sends_with_digest,
      count(*) FILTER (WHERE is_attempt) AS attempts,
      count(*) FILTER (WHERE is_attempt AND message_id <> '') AS attempts_with_message_id,
      count(*) FILTER (WHERE is_attempt AND outcome <> '') AS attempts_with_outcome,
      count(*) FILTER (WHERE is_attempt AND outcome = 'processed') AS processed,
      count(*) FILTER (WHERE is_attempt AND outcome = 'processed' AND ${attribute(ATTR_COMMITTED_AT_MS)} IS NOT NULL) AS processed_with_commit
    FROM (
      SELECT *,
        CASE WHEN is_attempt
          THEN coalesce(nullif(${attribute(ATTR_ENDPOINT)}, ''), CASE WHEN destination = '' THEN service ELSE service || '/' || destination END)
          ELSE '' END AS endpoint
      FROM (
        SELECT service, message_id, conversation_id, outcome, destination, attributes, ${IS_SEND} AS is_send, ${IS_ATTEMPT} AS is_attempt
        FROM spans WHERE start_ns >= $1 AND start_ns < $2
      )
    )
    GROUP BY service, endpoint
    ORDER BY service, endpoint`;
  return { sql, params: [fromNs, toNs] };
}
