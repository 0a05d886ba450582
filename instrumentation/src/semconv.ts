/**
 * Onceflow's conventions: every header and span attribute name, in one place.
 *
 * The instrumentation writes these names and the collector reads them; both import this
 * module so the two can never drift. `docs/conventions.md` documents the same names for
 * users of other languages' OpenTelemetry SDKs. Standard OpenTelemetry messaging names are
 * used where they exist; `onceflow.*` names fill the gaps.
 */

// ---------------------------------------------------------------------------------------
// Headers carried on every message and HTTP request (lower-case: HTTP and AMQP both accept).
// ---------------------------------------------------------------------------------------

/** Logical message identity: the same for every redelivery and resend. */
export const HEADER_MESSAGE_ID = 'onceflow-message-id';
/** The business flow; minted at the sync/async boundary, inherited by every descendant. */
export const HEADER_CONVERSATION_ID = 'onceflow-conversation-id';
/** Id of the message whose processing produced this one; absent at the boundary. */
export const HEADER_CAUSATION_ID = 'onceflow-causation-id';
/** Business deduplication key (HTTP `Idempotency-Key`, or one the application names). */
export const HEADER_IDEMPOTENCY_KEY = 'onceflow-idempotency-key';
/** Message type, e.g. `SubmitOrder`, `OrderBilled`. */
export const HEADER_MESSAGE_TYPE = 'onceflow-message-type';
/** Delivery attempt number at the consumer, 1-based (for application-level retries). */
export const HEADER_ATTEMPT = 'onceflow-attempt';
/** Claim check: where the offloaded body lives. */
export const HEADER_PAYLOAD_REF = 'onceflow-payload-ref';
/** Claim check: size of the offloaded body in bytes. */
export const HEADER_PAYLOAD_BYTES = 'onceflow-payload-bytes';
/**
 * Response header: the `service.name` of the Onceflow-instrumented server that answered an
 * HTTP request; the client records it on its span as `peer.service`, so the system map shows
 * the serving service instead of an address. Not one of ONCEFLOW_HEADERS (not propagated).
 */
export const HEADER_SERVICE = 'onceflow-service';
/**
 * A business key (e.g. an order id) set with `setBusinessKey`: carried on every message sent
 * within the scope that set it (and inherited by the messages its consumers send), read back
 * by the consumer into `onceflow.business_key`. Ordering is judged per business key.
 */
export const HEADER_BUSINESS_KEY = 'onceflow-business-key';
/** The standard HTTP header an edge API receives; becomes the idempotency key. */
export const HTTP_HEADER_IDEMPOTENCY_KEY = 'idempotency-key';

export const ONCEFLOW_HEADERS = [
  HEADER_MESSAGE_ID,
  HEADER_CONVERSATION_ID,
  HEADER_CAUSATION_ID,
  HEADER_IDEMPOTENCY_KEY,
  HEADER_MESSAGE_TYPE,
  HEADER_ATTEMPT,
  HEADER_PAYLOAD_REF,
  HEADER_PAYLOAD_BYTES,
  HEADER_BUSINESS_KEY,
] as const;

// ---------------------------------------------------------------------------------------
// Span attributes: OpenTelemetry messaging semantic conventions.
// ---------------------------------------------------------------------------------------

/** e.g. `rabbitmq`, `onceflow-pgqueue`. */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
/** `send` | `receive` | `process` | `create` | `settle` (OpenTelemetry messaging). */
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
/** Older name still emitted by some instrumentations; read as a fallback. */
export const ATTR_MESSAGING_OPERATION_LEGACY = 'messaging.operation';
/** Queue, exchange or topic name. */
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_CONVERSATION_ID = 'messaging.message.conversation_id';
export const ATTR_MESSAGING_BODY_SIZE = 'messaging.message.body.size';
/** AMQP routing key (used by the amqplib instrumentation). */
export const ATTR_MESSAGING_RABBITMQ_ROUTING_KEY = 'messaging.rabbitmq.destination.routing_key';

// ---------------------------------------------------------------------------------------
// Span attributes: Onceflow's own.
// ---------------------------------------------------------------------------------------

export const ATTR_CAUSATION_ID = 'onceflow.causation_id';
export const ATTR_IDEMPOTENCY_KEY = 'onceflow.idempotency_key';
export const ATTR_MESSAGE_TYPE = 'onceflow.message_type';
/** Delivery attempt number at the consumer, 1-based. */
export const ATTR_ATTEMPT = 'onceflow.attempt';
/** What a processing attempt did; one of {@link OUTCOMES}. */
export const ATTR_OUTCOME = 'onceflow.outcome';
export const ATTR_PAYLOAD_OFFLOADED = 'onceflow.payload.offloaded';
export const ATTR_PAYLOAD_REF = 'onceflow.payload.ref';
export const ATTR_PAYLOAD_BYTES = 'onceflow.payload.bytes';
/** Set on a span that read an offloaded payload back (claim check fetch). */
export const ATTR_PAYLOAD_FETCHED = 'onceflow.payload.fetched';
/**
 * What a blob store client span did with a claim-check blob: `put`, `get` or `delete` (see
 * {@link BLOB_OPERATIONS}); `onceflow.payload.ref` names the blob, `onceflow.payload.bytes` its
 * size. Lets the collector tell a blob written by an attempt that never committed (orphaned)
 * and a read that found nothing (missing).
 */
export const ATTR_BLOB_OPERATION = 'onceflow.blob.operation';
export const BLOB_OPERATIONS = ['put', 'get', 'delete'] as const;
export type BlobOperation = (typeof BLOB_OPERATIONS)[number];
/** `true` on a blob `get` that found nothing (a 404, span status error): the payload is gone. */
export const ATTR_BLOB_MISSING = 'onceflow.blob.missing';
/**
 * Event on an attempt span: a body the attempt is about to send was moved to a blob store
 * (`recordPayloadOffload` outside a send), with `onceflow.payload.ref` and
 * `onceflow.payload.bytes`. Ties the blob to the attempt's messages even when none is ever sent
 * (a stuck outbox), so the collector can tell that blob orphaned.
 */
export const EVENT_PAYLOAD_OFFLOAD = 'onceflow.payload.offload';
/** Message ids an attempt produced (string array). */
export const ATTR_OUTGOING_MESSAGE_IDS = 'onceflow.outgoing_message_ids';
/** Delay before the next attempt, when the outcome is `retry_scheduled`. */
export const ATTR_RETRY_DELAY_MS = 'onceflow.retry.delay_ms';
/** A business key (e.g. order id), set with `setBusinessKey`; searchable in the collector, and ordering is judged per key. */
export const ATTR_BUSINESS_KEY = 'onceflow.business_key';
/** Why an attempt ended as it did (free text), e.g. the reason given to `markDuplicate`. */
export const ATTR_OUTCOME_REASON = 'onceflow.outcome.reason';
/**
 * The endpoint that processed an attempt (consumer span): the service together with the
 * queue or subscription it consumed from, by default `service.name` + `/` + queue. Identity
 * is per (endpoint, message id): one service consuming the same event from two queues is two
 * endpoints. Not propagated as a header. When absent the collector derives the same default
 * from `service.name` and `messaging.destination.name`.
 */
export const ATTR_ENDPOINT = 'onceflow.endpoint';
/**
 * When the attempt's transaction committed (int, epoch milliseconds, on the attempt span):
 * set by `markProcessed` (called after the commit) unless `markCommitted()` recorded it
 * earlier. A send of the attempt before this time is a premature publish.
 */
export const ATTR_COMMITTED_AT_MS = 'onceflow.committed_at_ms';
/**
 * Set to `true` on a send that dispatches an outbox row after its transaction committed, as
 * opposed to a send made inside the handler's transaction.
 */
export const ATTR_OUTBOX_DISPATCH = 'onceflow.outbox.dispatch';
/**
 * Digest of a sent body (producer span): `sha256:` + the first 32 hex characters of the
 * SHA-256 of the body bytes. Only for bodies up to a size limit (default 256 KiB); never the
 * body itself. The same message id sent with two digests is inconsistent output.
 */
export const ATTR_BODY_DIGEST = 'onceflow.body_digest';
/**
 * The export stream a span belongs to (16 hex characters): one per span processor, so per
 * process and service. With `onceflow.export.seq` it lets the collector see spans lost between
 * the SDK and its store (a dropped batch, a full queue, a failed export).
 */
export const ATTR_EXPORT_STREAM = 'onceflow.export.stream';
/**
 * The span's number in its export stream (int, from 1, in start order, sampled spans only). A
 * number the collector never receives while its neighbours arrived is a span lost at export:
 * the verdicts that span could have changed become `unknown` instead of a fault.
 */
export const ATTR_EXPORT_SEQ = 'onceflow.export.seq';
/**
 * Entry spans (kind consumer or server: deliveries and served requests) numbered in the span's
 * export stream so far, this span included (int, on every numbered span). With it the
 * collector tells how many of the spans lost in a hole were entries: a hole of only client and
 * internal spans cannot hide a redelivery.
 */
export const ATTR_EXPORT_ENTRIES = 'onceflow.export.entries';
/**
 * On an entry span: the message ids of the stream's previous entry spans, the latest first (up
 * to `PREVIOUS_ENTRIES_KEPT`; '' for one without a message id). A lost entry span is thereby
 * named by a successor: the delivery of which message went missing, so only that message's
 * verdicts become `unknown`, even when a few entries in a row were lost.
 */
export const ATTR_EXPORT_PREVIOUS_ENTRIES = 'onceflow.export.previous_entries';
/** How many previous entries an entry span names: runs of lost deliveries longer than this leave some unnamed. */
export const PREVIOUS_ENTRIES_KEPT = 3;
/** Prefix of every `onceflow.body_digest` value (the algorithm). */
export const BODY_DIGEST_PREFIX = 'sha256:';

// ---------------------------------------------------------------------------------------
// Resource attributes: Onceflow's own (describe the endpoint process, not one span).
// ---------------------------------------------------------------------------------------

/**
 * How long the service keeps processed message ids for deduplication (int, milliseconds).
 * A duplicate arriving after this window is processed again; verdicts use it to tell a
 * deduplication bug from a redelivery that outlived the window.
 */
export const RESOURCE_DEDUP_WINDOW_MS = 'onceflow.dedup_window_ms';

// ---------------------------------------------------------------------------------------
// W3C baggage entries (carried in the standard `baggage` header next to the headers above).
// ---------------------------------------------------------------------------------------

/** Baggage entry with the conversation id, for SDKs and proxies that only pass W3C headers. */
export const BAGGAGE_CONVERSATION_ID = 'onceflow.conversation_id';
/** Baggage entry with the causation id (the message being handled when this was sent). */
export const BAGGAGE_CAUSATION_ID = 'onceflow.causation_id';

export const OUTCOMES = ['processed', 'duplicate', 'failed', 'retry_scheduled', 'dead_lettered'] as const;
/** What one processing attempt did. */
export type Outcome = (typeof OUTCOMES)[number];

export const MESSAGING_OPERATIONS = ['send', 'receive', 'process', 'create', 'settle'] as const;
export type MessagingOperation = (typeof MESSAGING_OPERATIONS)[number];

// ---------------------------------------------------------------------------------------
// Standard names Onceflow reads but does not own.
// ---------------------------------------------------------------------------------------

export const ATTR_SERVICE_NAME = 'service.name';
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_HTTP_ROUTE = 'http.route';
export const ATTR_URL_FULL = 'url.full';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_PEER_SERVICE = 'peer.service';
