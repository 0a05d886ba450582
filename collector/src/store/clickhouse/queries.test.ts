/** SQL text building of the ClickHouse store, without a server. */
import { describe, expect, it } from 'vitest';
import { bucketStep, edgeAggregatesSql, flowBucketsSql, spanBucketsRollupSql, spanBucketsSql, topKeysSql } from './aggregate-queries.js';
import { decodeFlowCursor, encodeFlowCursor } from '../flow-cursor.js';
import { anomaliesSql, flowPageSql } from './flow-queries.js';
import { rowLimit } from '../store-inputs.js';
import { spansOfConversationSql, spansOfMessageSql, windowCondition } from './row-queries.js';
import { SPAN_FLAT_COLUMNS, schemaStatements } from './schema.js';
import { detectFeatures } from './server-features.js';
import { fromRowJson, toInsertRow } from './span-rows.js';
import { makeSpan } from '../../../test/span-builders.js';
import { sqlDatabase } from './sql-escape.js';

const db = sqlDatabase('onceflow');
const window = { fromMs: 1_700_000_000_123, toMs: 1_700_000_060_000 };

describe('detectFeatures', () => {
  it.each([
    ['18.16.1', { major: 18, skipIndexes: false, codecs: false }],
    ['19.17.4.11', { major: 19, skipIndexes: false, codecs: false }],
    ['24.8.4.13', { major: 24, skipIndexes: true, codecs: true }],
    ['25.3.2.39-stable', { major: 25, skipIndexes: true, codecs: true }],
    ['garbage', { major: 0, skipIndexes: false, codecs: false }],
  ])('%s → %o', (version, expected) => {
    expect(detectFeatures(version)).toMatchObject(expected);
  });
});

describe('schema', () => {
  it('uses nothing 18.16 lacks on an old server', () => {
    const ddl = schemaStatements(db, detectFeatures('18.16.1')).join('\n');
    for (const missing of ['DateTime64', 'Map(', 'LowCardinality', 'CODEC', 'INDEX ', 'TTL', 'Bool', 'IF NOT EXISTS;']) {
      expect(ddl).not.toContain(missing);
    }
    expect(ddl).toContain('PARTITION BY toDate(ts)');
    expect(ddl).toContain('ENGINE = ReplacingMergeTree(version)');
  });

  it('adds codecs and skip indexes on a current server', () => {
    const ddl = schemaStatements(db, detectFeatures('24.8.4.13')).join('\n');
    expect(ddl).toContain('CODEC(Delta, ZSTD(1))');
    expect(ddl).toContain('TYPE bloom_filter');
  });

  it('flattens Nested columns for JSONEachRow', () => {
    expect(SPAN_FLAT_COLUMNS).toContain('attrs.key');
    expect(SPAN_FLAT_COLUMNS).toContain('events.time_ns');
    expect(SPAN_FLAT_COLUMNS).not.toContain('attrs');
  });
});

describe('row queries', () => {
  it('prunes on ts seconds and filters exactly on start_ns', () => {
    expect(windowCondition(window).text).toBe(
      'ts >= toDateTime(1700000000) AND ts <= toDateTime(1700000060) AND start_ns >= 1700000000123000000 AND start_ns < 1700000060000000000',
    );
  });

  it('escapes the key and deduplicates by span identity', () => {
    const text = spansOfConversationSql(db, "c' OR 1=1 --", 10).text;
    expect(text).toContain("WHERE `conversation_id` = 'c\\' OR 1=1 --'");
    expect(text).toContain('LIMIT 1 BY trace_id, span_id');
    expect(text).toContain('FROM `onceflow`.`spans_by_conversation`');
  });

  it('reads a message and the spans listing it as outgoing by primary key, each escaped, deduplicated across both', () => {
    const text = spansOfMessageSql(db, "m' OR 1=1 --", 10).text;
    expect(text).toContain("FROM `onceflow`.spans_by_message WHERE message_id = 'm\\' OR 1=1 --'");
    expect(text).toContain("FROM `onceflow`.outgoing_index WHERE outgoing_id = 'm\\' OR 1=1 --'");
    expect(text).toMatch(/UNION ALL[\s\S]*\)\nORDER BY start_ns, trace_id, span_id\nLIMIT 1 BY trace_id, span_id\nLIMIT 10$/);
  });

  it('reads spans as their encoded row, not column by column', () => {
    for (const text of [spansOfConversationSql(db, 'c', 10).text, spansOfMessageSql(db, 'm', 10).text]) {
      expect(text).toMatch(/^SELECT row_json, start_ns, trace_id, span_id FROM/);
    }
  });

  it.each([-1, 1.5, NaN, Infinity])('refuses limit %s', (limit) => {
    expect(() => rowLimit(limit)).toThrow(/invalid limit/);
  });
});

describe('span rows', () => {
  it('carry the span as row_json, which reads back to the same span (insert-time fields left out)', () => {
    const span = makeSpan({
      messageId: 'm-1',
      startNs: 1_700_000_000_123_456_789n,
      outgoingMessageIds: ['m-2'],
      attributes: { 'a.b': "it's \\ \u{1F680}" },
      events: [{ timeNs: 1_700_000_000_200_000_001n, name: 'exception', attributes: { 'exception.message': 'boom' } }],
    });
    const row = toInsertRow(span);
    expect(fromRowJson(row.row_json as string)).toEqual(span);
    expect(JSON.parse(row.row_json as string)).not.toHaveProperty('first_send_ns');
  });

  it('replace a lone surrogate in row_json too, instead of failing the batch', () => {
    const row = toInsertRow(makeSpan({ name: 'bad \ud800 name' }));
    expect(fromRowJson(row.row_json as string).name).toBe('bad \ufffd name');
  });
});

describe('aggregate queries', () => {
  it('buckets by whole steps and groups by a fixed expression', () => {
    const text = spanBucketsSql(db, window, 60_000, 'messageType').text;
    expect(text).toContain('intDiv(start_ns, 60000000000) * 60000');
    expect(text).toContain("arrayJoin(if(message_type = '', [''], [message_type, '']))");
    expect(spanBucketsSql(db, window, 60_000, 'endpoint').text).toContain("concat(service, '/', destination)");
    expect(text).toContain('FROM `onceflow`.spans\n');
    // Queue latency comes from first_send_ns (filled at insert), not from a join: the only joins
    // are the outbox latency's (dispatch → its attempt) and its join onto the buckets.
    expect(text.split('ANY LEFT JOIN')[0]).not.toContain('JOIN');
    expect(text).toContain('first_send_ns > 0');
    expect(() => spanBucketsSql(db, window, 60_000, 'x; DROP' as never)).toThrow();
  });

  it.each([0, 999, 1500.5, NaN])('refuses step %s', (step) => {
    expect(() => bucketStep(step)).toThrow(/invalid step/);
  });

  it('escapes service, destination and message type in top keys', () => {
    const text = topKeysSql(db, window, { service: "svc'", destination: "q'", messageType: 'T\\' }, 'retry', 5).text;
    expect(text).toContain("service = 'svc\\'' AND destination = 'q\\''");
    expect(text).toContain("message_type = 'T\\\\'");
  });

  it('classifies edges in one scan without joins', () => {
    const text = edgeAggregatesSql(db, window).text;
    expect(text).not.toMatch(/JOIN/);
    expect(text.match(/FROM /g)).toHaveLength(2);
  });
});

describe('flow queries', () => {
  it('round-trips a cursor and refuses a forged one', () => {
    const cursor = { startMs: 1_700_000_000_000.5, conversationId: "c'1" };
    expect(decodeFlowCursor(encodeFlowCursor(cursor))).toEqual(cursor);
    expect(() => decodeFlowCursor('not-a-cursor')).toThrow(/invalid cursor/);
    expect(() => decodeFlowCursor(Buffer.from('[1,2]').toString('base64url'))).toThrow(/invalid cursor/);
  });

  it('pages with limit + 1 and escapes every filter', () => {
    const cursor = encodeFlowCursor({ startMs: 5, conversationId: "x' OR 1=1 --" });
    const text = flowPageSql(db, { ...window, limit: 20, q: "q'", service: 's\\', cursor }).text;
    expect(text).toContain('LIMIT 21');
    expect(text).toContain("conversation_id < 'x\\' OR 1=1 --'");
    expect(text).toContain("has(services, 's\\\\')");
    expect(text).toContain("value = 'q\\''");
  });

  it('reads a list filtered by kind from the kind-ordered index, latest version per conversation', () => {
    const text = flowPageSql(db, { ...window, limit: 20, anomaly: 'retry' }).text;
    expect(text).toContain(
      "FROM `onceflow`.flows_by_anomaly\nWHERE kind = 'retry' AND start_ms >= 1700000000123 AND start_ms < 1700000060000",
    );
    // Latest among the candidates and the versions written after the oldest of them (a range of the version-ordered table).
    expect(text).toContain('(conversation_id, version) IN (\n    SELECT conversation_id, max(version) FROM (');
    expect(text).toContain(
      'FROM `onceflow`.flow_versions_by_time\n      WHERE version > (SELECT if(count() = 0, 18446744073709551615, min(version))',
    );
    expect(text).not.toContain('FINAL');
    expect(flowPageSql(db, { ...window, limit: 20 }).text).toContain('FROM `onceflow`.flows FINAL');
  });

  it('reads anomalies and anomaly trends from the time-ordered index, not from flows FINAL', () => {
    const anomalies = anomaliesSql(db, { ...window, limit: 5, kind: 'lost-message' }).text;
    expect(anomalies).toContain(
      "FROM `onceflow`.anomalies_by_time FINAL\nWHERE time_ms >= 1700000000123 AND time_ms < 1700000060000 AND kind = 'lost-message'",
    );
    expect(anomalies).toContain('FROM `onceflow`.flow_versions_by_time');
    const trends = flowBucketsSql(db, window, 60_000).text;
    expect(trends).toContain('FROM `onceflow`.anomalies_by_time FINAL');
    // Completion still merges every record, once (it was twice).
    expect(trends.match(/flows FINAL/g)).toHaveLength(1);
    expect(anomalies).not.toContain('flows FINAL');
    expect(spanBucketsRollupSql(db, window, 60_000, 'service').text).toContain('FROM `onceflow`.outbox_dispatches WHERE');
  });

  it('refuses unknown anomaly kinds and states', () => {
    expect(() => anomaliesSql(db, { ...window, limit: 5, kind: 'nope' as never })).toThrow(/anomaly kind/);
    expect(() => flowPageSql(db, { ...window, limit: 5, state: "x' OR 1=1" as never })).toThrow(/flow state/);
  });
});
