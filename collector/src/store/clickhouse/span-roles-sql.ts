/**
 * Span roles in ClickHouse SQL, built from the vocabulary of `model/span-roles.ts` (`SPAN_ROLES`) (the
 * TypeScript predicates there decide the same roles): send, attempt, HTTP client, HTTP peer,
 * and the edge kind of a span for the topology and the rollup.
 */
import { SPAN_ROLES } from '../../model/span-roles.js';
import { SqlFragment, joinSql, sql, sqlInList } from './sql-escape.js';

/** The value of a span attribute ('' when absent): attributes are a Nested column. */
export const attribute = (key: string) => sql`attrs.value[indexOf(attrs.key, ${key})]`;

/** `isSend`. */
export const IS_SEND = sql`(kind = ${SPAN_ROLES.send.kind} OR operation IN ${sqlInList(SPAN_ROLES.send.operations)})`;
/** `isAttemptSpan`. */
export const IS_ATTEMPT = sql`(NOT ${IS_SEND} AND (kind = ${SPAN_ROLES.attempt.kind} OR operation IN ${sqlInList(SPAN_ROLES.attempt.operations)} OR outcome != ''))`;
/** `isHttpClient`. */
export const IS_HTTP_CLIENT = sql`(kind = ${SPAN_ROLES.httpClient.kind} AND (${joinSql(
  [...SPAN_ROLES.httpClient.methodAttributes, SPAN_ROLES.httpClient.urlAttribute].map((key) => sql`has(attrs.key, ${key})`),
  ' OR ',
)}))`;

const urlHost = sql`domain(${attribute(SPAN_ROLES.httpPeer.urlAttribute)})`;
/** `httpPeerOf`. */
export const HTTP_PEER = sql`multiIf(${joinSql(
  [...SPAN_ROLES.httpPeer.attributes.map(attribute), urlHost].map((value) => sql`${value} != '', ${value}`),
  ', ',
)}, ${SPAN_ROLES.httpPeer.unknown})`;

/** 'send' | 'consume' | 'http' | '' (a span that is none of them). */
export const EDGE_KIND: SqlFragment = sql`multiIf(${IS_SEND}, 'send', ${IS_ATTEMPT}, 'consume', ${IS_HTTP_CLIENT}, 'http', '')`;
