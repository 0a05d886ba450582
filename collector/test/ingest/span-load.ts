/**
 * Load for the ingest fault tests: exporters that post OTLP requests, each one trace of a
 * few spans with ids unique to the run, and remember which traces were acknowledged (200) —
 * what must be in the store, exactly once, whatever happened to the collector.
 */
import { Agent, request } from 'node:http';
import * as semconv from '@onceflow/instrumentation/semconv';
import { buildProtobufBody, hexId } from '../../src/otlp/request-builder.js';
import type { SpanStore } from '../../src/store/span-store.js';

export interface TraceRequest {
  traceId: string;
  spanIds: string[];
  body: Buffer;
}

let runSeed = Math.floor(Math.random() * 1_000_000);

/** A request holding one new trace of `spans` spans (ids unique within this process). */
export function traceRequest(spans: number, padBytes = 0): TraceRequest {
  const n = ++runSeed;
  const traceId = hexId(n * 7_919 + 1, 16);
  const startNs = BigInt(Date.now() - 1000) * 1_000_000n;
  const spanIds = Array.from({ length: spans }, (_, i) => hexId(n * 1_000 + i + 1, 8));
  const body = buildProtobufBody([
    {
      attributes: { [semconv.ATTR_SERVICE_NAME]: 'faults' },
      spans: spanIds.map((spanId, i) => ({
        traceId,
        spanId,
        name: 'orders process',
        kind: 5,
        startNs: startNs + BigInt(i),
        endNs: startNs + BigInt(i) + 1_000_000n,
        attributes: {
          [semconv.ATTR_MESSAGING_MESSAGE_ID]: `m-${n}-${i}`,
          [semconv.ATTR_MESSAGING_CONVERSATION_ID]: `c-${n}`,
          [semconv.ATTR_OUTCOME]: 'processed',
          ...(padBytes > 0 ? { 'app.padding': 'p'.repeat(padBytes) } : {}),
        },
      })),
    },
  ]);
  return { traceId, spanIds, body };
}

/**
 * A cheap source of new traces for load tests: one encoded request is made, and each call
 * copies it with a new trace id patched into every span (span ids repeat across traces,
 * which the stores' (traceId, spanId) identity allows). Costs a copy instead of an encoding.
 */
export function traceRequestStamper(spans: number, padBytes = 0): () => TraceRequest {
  const template = traceRequest(spans, padBytes);
  const marker = Buffer.from(template.traceId, 'hex');
  const offsets: number[] = [];
  for (let at = template.body.indexOf(marker); at >= 0; at = template.body.indexOf(marker, at + marker.length)) offsets.push(at);
  if (offsets.length !== spans) throw new Error(`expected the trace id once per span, found it ${offsets.length} times`);
  return () => {
    const traceId = traceRequest(0).traceId;
    const id = Buffer.from(traceId, 'hex');
    const body = Buffer.from(template.body);
    for (const at of offsets) id.copy(body, at);
    return { traceId, spanIds: template.spanIds, body };
  };
}

export interface PostResult {
  status: number;
  retryAfter: string | null;
}

export function postTraces(agent: Agent, otlpUrl: string, body: Buffer, headers: Record<string, string> = {}): Promise<PostResult> {
  const url = new URL('/v1/traces', otlpUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length, ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null }),
        );
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
    req.end(body);
  });
}

export interface ExportTally {
  acknowledged: TraceRequest[];
  statuses: Map<number, number>;
  /** 503 answers without a Retry-After header. */
  refusedWithoutRetryAfter: number;
  /** Requests that failed without an HTTP answer (connection refused or reset: the collector died). */
  connectionErrors: number;
}

export function newTally(): ExportTally {
  return { acknowledged: [], statuses: new Map(), refusedWithoutRetryAfter: 0, connectionErrors: 0 };
}

/**
 * `concurrency` exporters post new traces until `stop()` says so, waiting `pauseMs` between
 * their requests; records every answer in `tally`.
 */
export async function runExporters(options: {
  otlpUrl: string;
  concurrency: number;
  stop: () => boolean;
  tally: ExportTally;
  spansPerRequest?: number;
  pauseMs?: number;
  makeRequest?: () => TraceRequest;
}): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const make = options.makeRequest ?? (() => traceRequest(options.spansPerRequest ?? 10));
  const exporter = async () => {
    while (!options.stop()) {
      const trace = make();
      try {
        const { status, retryAfter } = await postTraces(agent, options.otlpUrl, trace.body);
        options.tally.statuses.set(status, (options.tally.statuses.get(status) ?? 0) + 1);
        if (status === 200) options.tally.acknowledged.push(trace);
        if (status === 503 && !retryAfter) options.tally.refusedWithoutRetryAfter++;
      } catch {
        options.tally.connectionErrors++;
        if (options.stop()) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, exporter));
  agent.destroy();
}

/** Acknowledged traces whose spans the store does not hold exactly once (each should read back once). */
export async function missingOrDoubled(store: Pick<SpanStore, 'spansOfTrace'>, acknowledged: TraceRequest[]): Promise<string[]> {
  const wrong: string[] = [];
  for (const trace of acknowledged) {
    const rows = await store.spansOfTrace(trace.traceId, trace.spanIds.length + 10);
    const ids = rows.map((row) => row.spanId).sort();
    if (ids.join() !== [...trace.spanIds].sort().join()) wrong.push(`${trace.traceId}: ${ids.length}/${trace.spanIds.length} spans`);
  }
  return wrong;
}
