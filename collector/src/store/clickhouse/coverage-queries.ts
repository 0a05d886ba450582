/**
 * The coverage aggregate of the ClickHouse store (`coverageAggregates`): one pass over the
 * window's spans, counted per (service, endpoint) — what `analysis/coverage.ts` shapes into the
 * coverage view. The endpoint rule is the analysis's: `onceflow.endpoint`, else
 * service/destination, else the service; spans that are not attempts count under ''.
 */
import { ATTR_BODY_DIGEST, ATTR_COMMITTED_AT_MS, ATTR_ENDPOINT } from '@onceflow/instrumentation/semconv';
import type { TimeWindow } from '../span-store.js';
import { windowCondition } from './row-queries.js';
import { IS_ATTEMPT, IS_SEND, attribute } from './span-roles-sql.js';
import { sql, type SqlFragment } from './sql-escape.js';

export function coverageSql(db: SqlFragment, window: TimeWindow): SqlFragment {
  const endpoint = attribute(ATTR_ENDPOINT);
  return sql`SELECT
  service,
  endpoint,
  count() AS spans,
  countIf(message_id != '') AS with_message_id,
  countIf(conversation_id != '') AS with_conversation,
  countIf(is_send) AS sends,
  countIf(is_send AND message_id != '') AS sends_with_message_id,
  countIf(is_send AND has_digest) AS sends_with_digest,
  countIf(is_attempt) AS attempts,
  countIf(is_attempt AND message_id != '') AS attempts_with_message_id,
  countIf(is_attempt AND outcome != '') AS attempts_with_outcome,
  countIf(is_attempt AND outcome = 'processed') AS processed,
  countIf(is_attempt AND outcome = 'processed' AND has_commit) AS processed_with_commit
FROM (
  SELECT service, message_id, conversation_id, outcome,
    ${IS_SEND} AS is_send, ${IS_ATTEMPT} AS is_attempt,
    has(attrs.key, ${ATTR_BODY_DIGEST}) AS has_digest,
    has(attrs.key, ${ATTR_COMMITTED_AT_MS}) AS has_commit,
    if(is_attempt, if(${endpoint} != '', ${endpoint}, if(destination = '', service, concat(service, '/', destination))), '') AS endpoint
  FROM ${db}.spans
  WHERE ${windowCondition(window)}
)
GROUP BY service, endpoint
ORDER BY service, endpoint`;
}
