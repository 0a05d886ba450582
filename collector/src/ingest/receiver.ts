/**
 * The OTLP/HTTP trace receiver: `POST /v1/traces` (protobuf or JSON, optionally gzip) →
 * decode → validate/convert → write batcher → store, answering as the OTLP/HTTP
 * specification says: 200 with ExportTraceServiceResponse (partialSuccess when spans were
 * rejected) only once the spans are committed; 400 / 413 / 415 with a google.rpc.Status
 * saying what is wrong; 503 with Retry-After when the write queue is full or the store fails.
 *
 * `createOtlpReceiver` builds the server without listening; the CLI calls `listen`.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SpanRow } from '../model/span.js';
import type { SpanStore } from '../store/span-store.js';
import { convertExportRequest, describeRejections } from '../otlp/convert.js';
import { decodeExportRequest, OtlpDecodeError } from '../otlp/decode.js';
import type { OtlpEncoding } from '../otlp/decode.js';
import { resolveLimits } from '../otlp/limits.js';
import type { IngestLimits } from '../otlp/limits.js';
import { CONTENT_TYPES, encodeExportResponse, encodeStatus, RpcCode } from '../otlp/response.js';
import { BatcherClosedError, DEFAULT_BATCHER_OPTIONS, QueueFullError, WriteBatcher } from './write-batcher.js';
import type { BatchingOptions } from './write-batcher.js';

const gunzipAsync = promisify(gunzip);

export const OTLP_TRACES_PATH = '/v1/traces';

export interface OtlpReceiverOptions {
  store: Pick<SpanStore, 'insertSpans' | 'insertConcurrency'>;
  logger?: FastifyBaseLogger;
  limits?: Partial<IngestLimits>;
  batching?: Partial<BatchingOptions>;
  /** Called after each committed batch (the flow indexer learns which conversations changed). */
  onSpansStored?: (spans: SpanRow[]) => void | Promise<void>;
  /** Seconds clients are told to wait (Retry-After) when the collector is saturated. */
  retryAfterSeconds?: number;
  /** Clock for timestamp validation; tests pass a fixed one. */
  now?: () => number;
}

export interface ReceiverStats {
  requests: number;
  acceptedSpans: number;
  rejectedSpans: number;
  /** Requests refused with 503 because the queue was full or the store failed. */
  refusedRequests: number;
  queuedSpans: number;
  /** Store inserts made (each holds the spans of one or more requests). */
  batches: number;
}

export interface OtlpReceiver {
  /** The fastify instance (tests may `inject` requests without listening). */
  readonly app: FastifyInstance;
  /** Starts listening; resolves to the bound address (e.g. `http://127.0.0.1:4318`). */
  listen(port: number, host?: string): Promise<string>;
  /** The bound port (after `listen`). */
  port(): number;
  /** Stops accepting, answers in-flight requests, and flushes every accepted span. */
  close(): Promise<void>;
  stats(): ReceiverStats;
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
  const batching = {
    ...DEFAULT_BATCHER_OPTIONS,
    maxConcurrentInserts: options.store.insertConcurrency ?? DEFAULT_BATCHER_OPTIONS.maxConcurrentInserts,
    ...options.batching,
  };
  const counters = { requests: 0, acceptedSpans: 0, rejectedSpans: 0, refusedRequests: 0 };

  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: limits.maxBodyBytes,
    // Per-request log lines would cost more than the work at thousands of requests/s.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const log = app.log;

  // Requests received but not yet handed to the batcher: it lingers for them under load.
  let incoming = 0;
  const counted = new WeakSet<FastifyRequest>();
  const settle = (request: FastifyRequest) => {
    if (counted.delete(request)) incoming--;
  };
  app.addHook('onRequest', async (request) => {
    counted.add(request);
    incoming++;
  });
  app.addHook('onResponse', async (request) => settle(request));
  app.addHook('onRequestAbort', async (request) => settle(request));

  const batcher = new WriteBatcher({
    store: options.store,
    ...batching,
    incomingSubmissions: () => incoming,
    onSpansStored: options.onSpansStored,
    onHookError: (error) => log.error({ err: error }, 'onSpansStored hook failed'),
  });

  // While closing, in-flight requests still get their answer, but their keep-alive
  // connections must not hold the server open afterwards.
  let closing = false;
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.removeAllContentTypeParsers();
  for (const type of [CONTENT_TYPES.protobuf, CONTENT_TYPES.json]) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: limits.maxBodyBytes }, (_request, body, done) =>
      done(null, body),
    );
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
      log.error({ err: error }, 'OTLP request failed');
      rpcCode = RpcCode.INTERNAL;
      message = 'internal error';
    }
    return sendStatus(reply, encodingOf(request), new HttpError(status, rpcCode, message));
  });

  app.post(OTLP_TRACES_PATH, async (request, reply) => {
    counters.requests++;
    const encoding = encodingOf(request);
    if (batcher.getStats().queuedSpans >= batching.maxQueuedSpans) {
      counters.refusedRequests++;
      throw new HttpError(503, RpcCode.UNAVAILABLE, 'collector is saturated: the write queue is full, retry later', retryAfter);
    }
    const body = await decompress(request, limits);

    let decoded;
    try {
      decoded = decodeExportRequest(body, encoding, limits);
    } catch (error) {
      if (error instanceof OtlpDecodeError) throw new HttpError(400, RpcCode.INVALID_ARGUMENT, error.message);
      throw error;
    }
    const result = convertExportRequest(decoded, limits, now());
    settle(request);
    counters.rejectedSpans += result.rejected;
    if (result.rejected > 0) log.warn({ rejected: result.rejected, reasons: result.reasons }, 'OTLP spans rejected');

    if (result.spans.length > 0) {
      try {
        await batcher.submit(result.spans);
      } catch (error) {
        counters.refusedRequests++;
        if (error instanceof QueueFullError) {
          throw new HttpError(503, RpcCode.UNAVAILABLE, `collector is saturated: ${error.message}, retry later`, retryAfter);
        }
        if (error instanceof BatcherClosedError) {
          throw new HttpError(503, RpcCode.UNAVAILABLE, `${error.message}, retry later`, retryAfter);
        }
        log.error({ err: error }, 'storing spans failed');
        throw new HttpError(503, RpcCode.UNAVAILABLE, `the span store failed: ${(error as Error).message}`, retryAfter);
      }
      counters.acceptedSpans += result.spans.length;
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
      // Fastify answers what is in flight (those requests wait for their batch), then the
      // batcher inserts whatever is still queued.
      closing = true;
      await app.close();
      await batcher.close();
    },
    stats() {
      const { queuedSpans, batches } = batcher.getStats();
      return { ...counters, queuedSpans, batches };
    },
  };
}

function sendStatus(reply: FastifyReply, encoding: OtlpEncoding, error: HttpError): FastifyReply {
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  return reply.code(error.statusCode).type(CONTENT_TYPES[encoding]).send(encodeStatus(encoding, error.rpcCode, error.message));
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
