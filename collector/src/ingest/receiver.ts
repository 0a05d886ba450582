/**
 * The OTLP/HTTP trace receiver: `POST /v1/traces` (protobuf or JSON, optionally gzip) →
 * decode → validate/convert → ingest log (fsynced, group commit) → 200; the log feeder then
 * stores the spans and tells the flow indexer. Answers as the OTLP/HTTP specification says:
 * 200 with ExportTraceServiceResponse (partialSuccess when spans were rejected) once the
 * request's accepted spans are durable in the log; 400 / 413 / 415 with a google.rpc.Status
 * saying what is wrong (nothing of such a request is logged or stored); 503 with Retry-After
 * when the log is full (`--spool-max`) or cannot be written (disk full).
 *
 * `createOtlpReceiver` builds the server without listening; the CLI calls `listen`.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SpanRow } from '../model/span.js';
import type { SpanStore } from '../store/span-store.js';
import { convertExportRequest, countSpans, describeRejections, validateExportRequest } from '../otlp/convert.js';
import { decodeExportRequest, OtlpDecodeError } from '../otlp/decode.js';
import type { OtlpEncoding } from '../otlp/decode.js';
import { resolveLimits } from '../otlp/limits.js';
import type { IngestLimits } from '../otlp/limits.js';
import { CONTENT_TYPES, encodeExportResponse, encodeStatus, RpcCode } from '../otlp/response.js';
import { LogWriteError, SpoolFullError, type IngestLog, type LogLag } from './log/ingest-log.js';
import { DEFAULT_FEEDING_OPTIONS, LogFeeder, type FeedingOptions } from './log-feeder.js';

const gunzipAsync = promisify(gunzip);

export const OTLP_TRACES_PATH = '/v1/traces';
/** google.rpc.Code values for refused credentials. */
const RPC_UNAUTHENTICATED = 16;
const RPC_PERMISSION_DENIED = 7;

export interface OtlpReceiverOptions {
  store: Pick<SpanStore, 'insertSpans' | 'insertConcurrency'>;
  /** The opened ingest log (`openIngestLog`); the receiver closes it. */
  log: IngestLog;
  logger?: FastifyBaseLogger;
  limits?: Partial<IngestLimits>;
  feeding?: Partial<FeedingOptions>;
  /** Called after each committed store batch, in log order (the flow indexer learns which conversations changed). */
  onSpansStored?: (spans: SpanRow[]) => void | Promise<void>;
  /** On close, how long to wait for the store to take what the log holds (the rest is replayed at the next start). */
  drainTimeoutMs?: number;
  /** Checked before each request is handled: a refusal (401/403) answered instead. */
  authorize?: (request: FastifyRequest) => { statusCode: 401 | 403; message: string } | null;
  /** Seconds clients are told to wait (Retry-After) when the collector is saturated. */
  retryAfterSeconds?: number;
  /** Clock for timestamp validation; tests pass a fixed one. */
  now?: () => number;
}

export interface ReceiverStats {
  requests: number;
  /** Spans acknowledged (durable in the log). */
  acceptedSpans: number;
  rejectedSpans: number;
  /** Requests refused with 503 because the log was full or could not be written. */
  refusedRequests: number;
  /** Spans the store has committed. */
  storedSpans: number;
  /** Store inserts made (each holds the spans of one or more requests). */
  batches: number;
  /** The last store error while it refuses spans; null when it takes them. */
  storeError: string | null;
  /** What the log holds that the store has not confirmed. */
  lag: LogLag;
}

export interface OtlpReceiver {
  /** The fastify instance (tests may `inject` requests without listening). */
  readonly app: FastifyInstance;
  /** Starts listening; resolves to the bound address (e.g. `http://127.0.0.1:4318`). */
  listen(port: number, host?: string): Promise<string>;
  /** The bound port (after `listen`). */
  port(): number;
  /** Stops accepting, answers in-flight requests, feeds the store what it can in `drainTimeoutMs`, closes the log. */
  close(): Promise<void>;
  stats(): ReceiverStats;
  /** Resolves once the store holds every span acknowledged so far. */
  whenStored(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly rpcCode: number,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

function encodingOf(request: FastifyRequest): OtlpEncoding {
  return /protobuf/i.test(request.headers['content-type'] ?? '') ? 'protobuf' : 'json';
}

export function createOtlpReceiver(options: OtlpReceiverOptions): OtlpReceiver {
  const limits = resolveLimits(options.limits);
  const now = options.now ?? Date.now;
  const retryAfter = options.retryAfterSeconds ?? 1;
  const { log } = options;
  const counters = { requests: 0, acceptedSpans: 0, rejectedSpans: 0, refusedRequests: 0 };

  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: limits.maxBodyBytes,
    // Per-request log lines would cost more than the work at thousands of requests/s.
    logController: new LogController({ disableRequestLogging: true }),
  });

  const feeder = new LogFeeder({
    ...DEFAULT_FEEDING_OPTIONS,
    maxConcurrentInserts: options.store.insertConcurrency ?? DEFAULT_FEEDING_OPTIONS.maxConcurrentInserts,
    ...options.feeding,
    log,
    store: options.store,
    // A record read back is decoded and validated exactly as when it was received (same clock reading).
    spansOf: (record) =>
      convertExportRequest(decodeExportRequest(record.payload, record.encoding, limits), limits, record.receivedAtMs).spans,
    onSpansStored: options.onSpansStored,
    logger: app.log,
  });
  const backlog = log.lag(now());
  if (backlog.spans > 0) {
    app.log.info({ lag: backlog }, `ingest log: feeding the store ${backlog.spans} spans acknowledged before the restart`);
  }
  feeder.start();

  // While closing, in-flight requests still get their answer, but their keep-alive
  // connections must not hold the server open afterwards.
  let closing = false;
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  const authorize = options.authorize;
  if (authorize) {
    app.addHook('onRequest', async (request) => {
      const refusal = authorize(request);
      if (refusal)
        throw new HttpError(refusal.statusCode, refusal.statusCode === 401 ? RPC_UNAUTHENTICATED : RPC_PERMISSION_DENIED, refusal.message);
    });
  }

  app.removeAllContentTypeParsers();
  for (const type of [CONTENT_TYPES.protobuf, CONTENT_TYPES.json]) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: limits.maxBodyBytes }, (_request, body, done) => done(null, body));
  }

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof HttpError) return sendStatus(reply, encodingOf(request), error);
    const status = error.statusCode ?? 500;
    let message = error.message;
    let rpcCode: number = RpcCode.INVALID_ARGUMENT;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      message = `request body exceeds the limit of ${limits.maxBodyBytes} bytes`;
      rpcCode = RpcCode.RESOURCE_EXHAUSTED;
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      message = `unsupported content type ${JSON.stringify(request.headers['content-type'] ?? '')}: send application/x-protobuf or application/json`;
    } else if (status >= 500) {
      app.log.error({ err: error }, 'OTLP request failed');
      rpcCode = RpcCode.INTERNAL;
      message = 'internal error';
    }
    return sendStatus(reply, encodingOf(request), new HttpError(status, rpcCode, message));
  });

  const saturated = (message: string) => {
    counters.refusedRequests++;
    return new HttpError(503, RpcCode.UNAVAILABLE, `${message}, retry later`, retryAfter);
  };

  app.post(OTLP_TRACES_PATH, async (request, reply) => {
    counters.requests++;
    const encoding = encodingOf(request);
    // Refuse before decoding: under overload the refusal must cost next to nothing.
    if (log.isFull()) throw saturated('collector is saturated: the ingest log is full (--spool-max) while the store catches up');
    const body = await decompress(request, limits);

    let decoded;
    try {
      decoded = decodeExportRequest(body, encoding, limits);
    } catch (error) {
      if (error instanceof OtlpDecodeError) throw new HttpError(400, RpcCode.INVALID_ARGUMENT, error.message);
      throw error;
    }
    const receivedAtMs = now();
    // Rows are built now only if the feeder will keep them in memory for the store. When it
    // will not (the store is behind), it builds them when it reads the record back, and
    // validation alone decides what is acknowledged: the same spans either way.
    const converted = feeder.keepsInMemory(countSpans(decoded)) ? convertExportRequest(decoded, limits, receivedAtMs) : null;
    const result = converted ?? validateExportRequest(decoded, limits, receivedAtMs);
    counters.rejectedSpans += result.rejected;
    if (result.rejected > 0) app.log.warn({ rejected: result.rejected, reasons: result.reasons }, 'OTLP spans rejected');

    if (result.accepted > 0) {
      let appended;
      try {
        appended = await log.append({ payload: body, receivedAtMs, spanCount: result.accepted, encoding });
      } catch (error) {
        if (error instanceof SpoolFullError) throw saturated(`collector is saturated: ${error.message}`);
        if (error instanceof LogWriteError) {
          app.log.error({ err: error }, 'appending to the ingest log failed');
          throw saturated(`the collector cannot write its ingest log (${error.message})`);
        }
        throw error;
      }
      feeder.offer(appended, converted?.spans ?? null);
      counters.acceptedSpans += result.accepted;
    }

    const partial = result.rejected > 0 ? { rejectedSpans: result.rejected, errorMessage: describeRejections(result) } : undefined;
    return reply.code(200).type(CONTENT_TYPES[encoding]).send(encodeExportResponse(encoding, partial));
  });

  return {
    app,
    async listen(port, host = '127.0.0.1') {
      return app.listen({ port, host });
    },
    port() {
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : 0;
    },
    async close() {
      // Fastify answers what is in flight (those requests wait for their fsync); then the
      // store gets what it can take in time, and the log keeps the rest for the next start.
      closing = true;
      await app.close();
      const drained = await feeder.stop(options.drainTimeoutMs ?? 10_000);
      if (!drained)
        app.log.warn(
          { lag: log.lag(now()) },
          'stopping before the store took every acknowledged span: the ingest log replays them at the next start',
        );
      await log.close();
    },
    stats() {
      const { storedSpans, batches, storeError } = feeder.getStats();
      return { ...counters, storedSpans, batches, storeError, lag: log.lag(now()) };
    },
    whenStored: () => feeder.whenStored(),
  };
}

function sendStatus(reply: FastifyReply, encoding: OtlpEncoding, error: HttpError): FastifyReply {
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  return reply
    .code(error.statusCode)
    .type(CONTENT_TYPES[encoding])
    .send(encodeStatus(encoding, error.rpcCode, error.message));
}

/** The body after Content-Encoding, with the size limit applied to the decompressed bytes. */
async function decompress(request: FastifyRequest, limits: IngestLimits): Promise<Buffer> {
  const body = request.body as Buffer | undefined;
  const raw = body ?? Buffer.alloc(0);
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return raw;
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new HttpError(415, RpcCode.INVALID_ARGUMENT, `unsupported Content-Encoding ${JSON.stringify(encoding)}: send gzip or none`);
  }
  try {
    return await gunzipAsync(raw, { maxOutputLength: limits.maxBodyBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(413, RpcCode.RESOURCE_EXHAUSTED, `decompressed request body exceeds the limit of ${limits.maxBodyBytes} bytes`);
    }
    throw new HttpError(400, RpcCode.INVALID_ARGUMENT, `invalid gzip body: ${(error as Error).message}`);
  }
}
