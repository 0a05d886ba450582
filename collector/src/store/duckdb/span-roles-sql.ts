/**
 * Span roles in DuckDB SQL, built from the vocabulary of `model/span-roles.ts` (`SPAN_ROLES`) (the TypeScript
 * predicates there decide the same roles): send, attempt, HTTP client, HTTP peer. The role
 * values are constants of the code, so they are written as literals, not bound parameters.
 */
import { SPAN_ROLES } from '../../model/span-roles.js';

const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;
const inList = (values: readonly string[]) => `(${values.map(literal).join(', ')})`;
/** The value of a span attribute (NULL when absent): attributes are a JSON object. */
export const attribute = (key: string) => `json_extract_string(attributes, ${literal(`$."${key}"`)})`;

/** `isSend`. */
export const IS_SEND = `(kind = ${literal(SPAN_ROLES.send.kind)} OR operation IN ${inList(SPAN_ROLES.send.operations)})`;
/** `isAttemptSpan`. */
export const IS_ATTEMPT = `(NOT ${IS_SEND} AND (kind = ${literal(SPAN_ROLES.attempt.kind)} OR operation IN ${inList(SPAN_ROLES.attempt.operations)} OR outcome <> ''))`;
/** The kind test of `isHttpClient` alone: cheap, so it guards the attribute parsing of `IS_HTTP_CLIENT`. */
export const IS_CLIENT_KIND = `kind = ${literal(SPAN_ROLES.httpClient.kind)}`;
/** `isHttpClient`. */
export const IS_HTTP_CLIENT = `(${IS_CLIENT_KIND} AND (${[...SPAN_ROLES.httpClient.methodAttributes, SPAN_ROLES.httpClient.urlAttribute]
  .map((key) => `${attribute(key)} IS NOT NULL`)
  .join('\n  OR ')}))`;
/** `httpPeerOf`: the peer attributes, else the host of the URL, else the unknown peer. */
export const HTTP_PEER = `coalesce(${SPAN_ROLES.httpPeer.attributes.map((key) => `nullif(${attribute(key)}, '')`).join(', ')},
  nullif(regexp_extract(coalesce(${attribute(SPAN_ROLES.httpPeer.urlAttribute)}, ''), '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^:/?#]*)', 1), ''),
  ${literal(SPAN_ROLES.httpPeer.unknown)})`;
