/**
 * How spans and flow records get into the DuckDB store: through appenders, one transaction per
 * batch. Spans go straight into `spans`; a batch holding a span stored before (an exporter
 * retry) goes through staging with INSERT OR IGNORE instead. Flow records are staged and
 * merged (`flow-queries.ts#MERGE_STAGED_FLOWS_SQL`).
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import type { FlowRecord } from '../../model/flow.js';
import type { SpanRow } from '../../model/span.js';
import type { DuckDbClient } from './duckdb-client.js';
import { MERGE_STAGED_FLOWS_SQL } from './flow-queries.js';
import { appendAnomalies, appendFlow } from './flow-rows.js';
import { appendSpans } from './span-rows.js';

/** Inserts a batch of distinct spans numbered `seq` for the rollup, in one transaction. */
export async function insertSpanBatch(client: DuckDbClient, connection: DuckDBConnection, spans: SpanRow[], seq: bigint): Promise<void> {
  // Fast path: append straight into `spans`. A span stored before violates the primary key;
  // then the whole batch goes through staging, which is correct but several times slower.
  try {
    await client.inTransaction(connection, () => appendBatch(connection, 'spans', spans, seq));
    return;
  } catch (error) {
    if (!isConstraintViolation(error)) throw error;
  }
  await client.inTransaction(connection, async () => {
    await appendBatch(connection, 'staging_spans', spans, seq);
    await connection.run('INSERT OR IGNORE INTO spans SELECT * FROM staging_spans');
    await connection.run('DELETE FROM staging_spans');
  });
}

/** The latest analysis of each conversation in `records` (ties go to the later one). */
export function latestRecords(records: FlowRecord[]): FlowRecord[] {
  const latest = new Map<string, FlowRecord>();
  for (const record of records) {
    const seen = latest.get(record.conversationId);
    if (!seen || record.analyzedAtMs >= seen.analyzedAtMs) latest.set(record.conversationId, record);
  }
  return [...latest.values()];
}

/** Stores flow records (one per conversation) with their anomalies, in one transaction. */
export function saveFlowBatch(client: DuckDbClient, connection: DuckDBConnection, records: FlowRecord[]): Promise<void> {
  return client.inTransaction(connection, async () => {
    const flows = await connection.createAppender('staging_flows');
    const anomalies = await connection.createAppender('staging_anomalies');
    try {
      for (const record of records) {
        appendFlow(flows, record);
        appendAnomalies(anomalies, record);
      }
      flows.flushSync();
      anomalies.flushSync();
    } finally {
      closeQuietly(flows);
      closeQuietly(anomalies);
    }
    for (const statement of MERGE_STAGED_FLOWS_SQL) await connection.run(statement);
  });
}

/** Appends a batch to a span table through one appender, flushed (and closed) before returning. */
async function appendBatch(connection: DuckDBConnection, table: 'spans' | 'staging_spans', spans: SpanRow[], seq: bigint): Promise<void> {
  const appender = await connection.createAppender(table);
  try {
    appendSpans(appender, spans, seq);
    appender.flushSync();
  } finally {
    closeQuietly(appender);
  }
}

function isConstraintViolation(error: unknown): boolean {
  return /constraint|duplicate key/i.test((error as Error)?.message ?? '');
}

/**
 * Closes an appender whatever happened. Rows still buffered after a failed flush are cleared
 * first: otherwise closing (or, later, garbage collection) would try to flush them again,
 * inside whatever transaction the connection is running by then.
 */
function closeQuietly(appender: DuckDBAppender): void {
  try {
    appender.clear();
    appender.closeSync();
  } catch {
    // The flush error was already thrown to the caller.
  }
}
