/**
 * The OTLP receiver end to end against the real stores: the official OpenTelemetry JS
 * exporters (protobuf and JSON) send to a listening receiver and the spans are read back from
 * the embedded DuckDB store and (when the server is reachable) ClickHouse, once the receiver
 * says the store holds everything acknowledged (`whenStored`). Every bad input is checked for
 * its status code, its message, and that the store holds exactly what it held.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as OTLPHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import * as semconv from '@onceflow/instrumentation/semconv';
import { CLICKHOUSE_URL, requireClickHouse } from '@onceflow/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpanRow } from '../model/span.js';
import { ClickHouseStore } from '../store/clickhouse/clickhouse-store.js';
import { testDatabaseName } from '../../test/store/test-database.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import type { SpanStore } from '../store/span-store.js';
import { buildJsonBody, buildProtobufBody, hexId } from '../otlp/request-builder.js';
import type { ResourceSpec, SpanSpec } from '../otlp/request-builder.js';
import { decodeExportResponse, decodeStatus } from '../otlp/response.js';
import { openIngestLog } from './log/ingest-log.js';
import { createOtlpReceiver } from './receiver.js';
import type { OtlpReceiver, OtlpReceiverOptions } from './receiver.js';

const clickhouseUp = await requireClickHouse();

interface StoreHarness {
  name: string;
  available: boolean;
  open(): Promise<SpanStore>;
  dispose(store: SpanStore): Promise<void>;
}

const tempDirs: string[] = [];

const harnesses: StoreHarness[] = [
  {
    name: 'DuckDB',
    available: true,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'onceflow-ingest-'));
      tempDirs.push(dir);
      const store = new DuckDbStore({ dataDir: dir });
      await store.init();
      return store;
    },
    async dispose(store) {
      await store.close();
    },
  },
  {
    name: 'ClickHouse',
    available: clickhouseUp,
    async open() {
      const store = new ClickHouseStore({ url: CLICKHOUSE_URL, database: testDatabaseName() });
      await store.init();
      return store;
    },
    async dispose(store) {
      await (store as ClickHouseStore).dropDatabase();
      await store.close();
    },
  },
];

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const MAX_BODY_BYTES = 256 * 1024;
let seed = 1_000;

/** A valid span at the current time with fresh ids. */
function freshSpan(overrides: Partial<SpanSpec> = {}): SpanSpec {
  seed++;
  const start = BigInt(Date.now() - 1_000) * 1_000_000n;
  return {
    traceId: hexId(seed * 7919, 16),
    spanId: hexId(seed, 8),
    name: 'billing process',
    kind: 5,
    startNs: start,
    endNs: start + 2_500_000n,
    attributes: {
      [semconv.ATTR_MESSAGING_MESSAGE_ID]: `msg-${seed}`,
      [semconv.ATTR_MESSAGING_CONVERSATION_ID]: `conv-${seed}`,
      [semconv.ATTR_OUTCOME]: 'processed',
    },
    ...overrides,
  };
}

function resources(...spans: SpanSpec[]): ResourceSpec[] {
  return [{ attributes: { [semconv.ATTR_SERVICE_NAME]: 'billing' }, spans }];
}

async function post(receiver: OtlpReceiver, body: Buffer, headers: Record<string, string>) {
  const response = await fetch(`http://127.0.0.1:${receiver.port()}/v1/traces`, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

/** Posts, then waits until the store holds everything the receiver acknowledged. */
async function postStored(receiver: OtlpReceiver, body: Buffer, headers: Record<string, string>) {
  const response = await post(receiver, body, headers);
  await receiver.whenStored();
  return response;
}

function logDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'onceflow-ingest-log-'));
  tempDirs.push(dir);
  return dir;
}

const PROTOBUF = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

/** The google.rpc.Status message of an error response, in whichever encoding it came. */
function statusMessage(response: { headers: Headers; body: Buffer }): string {
  return response.headers.get('content-type')?.includes('protobuf')
    ? decodeStatus(response.body).message
    : (JSON.parse(response.body.toString()) as { message: string }).message;
}

function exportWith(exporter: SpanExporter, spans: Parameters<SpanExporter['export']>[0]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe.each(harnesses)('OTLP receiver into $name', (harness) => {
  describe.skipIf(!harness.available)('(server reachable)', () => {
    let store: SpanStore;
    let receiver: OtlpReceiver;
    let storedBatches: SpanRow[][] = [];

    async function startReceiver(options: Partial<OtlpReceiverOptions> = {}, spoolMaxBytes = 64 << 20): Promise<OtlpReceiver> {
      const log = await openIngestLog({ dir: logDir(), spoolMaxBytes, maxPayloadBytes: MAX_BODY_BYTES });
      const started = createOtlpReceiver({
        store,
        log,
        limits: { maxBodyBytes: MAX_BODY_BYTES },
        onSpansStored: (spans) => void storedBatches.push(spans),
        ...options,
      });
      await started.listen(0);
      return started;
    }

    beforeAll(async () => {
      store = await harness.open();
      receiver = await startReceiver();
    });

    afterAll(async () => {
      await receiver?.close();
      if (store) await harness.dispose(store);
    });

    it.each([
      ['protobuf', (url: string) => new OTLPProtoExporter({ url })],
      ['protobuf + gzip', (url: string) => new OTLPProtoExporter({ url, compression: 'gzip' as never })],
      ['JSON', (url: string) => new OTLPHttpJsonExporter({ url })],
    ])('stores what the OpenTelemetry JS %s exporter sends, Onceflow identity in columns', async (_label, makeExporter) => {
      const memory = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: 'orders', 'deployment.environment': 'test' }),
        spanProcessors: [new SimpleSpanProcessor(memory)],
      });
      const tracer = provider.getTracer('onceflow-ingest-test');
      const conversationId = `conv-sdk-${_label}-${Date.now()}`;
      const send = tracer.startSpan('orders publish', {
        kind: SpanKind.PRODUCER,
        attributes: {
          [semconv.ATTR_MESSAGING_SYSTEM]: 'rabbitmq',
          [semconv.ATTR_MESSAGING_OPERATION_LEGACY]: 'publish',
          [semconv.ATTR_MESSAGING_DESTINATION_NAME]: 'orders',
          [semconv.ATTR_MESSAGING_MESSAGE_ID]: `${conversationId}-m1`,
          [semconv.ATTR_MESSAGING_CONVERSATION_ID]: conversationId,
          [semconv.ATTR_MESSAGE_TYPE]: 'SubmitOrder',
          [semconv.ATTR_IDEMPOTENCY_KEY]: 'idem-42',
          [semconv.ATTR_PAYLOAD_OFFLOADED]: true,
          [semconv.ATTR_PAYLOAD_BYTES]: 2_000_000,
          [semconv.ATTR_PAYLOAD_REF]: 'blob://payloads/1',
          'app.tags': ['a', 'b'],
        },
      });
      send.end();
      const attempt = tracer.startSpan('orders process', {
        kind: SpanKind.CONSUMER,
        links: [{ context: send.spanContext() }],
        attributes: {
          [semconv.ATTR_MESSAGING_OPERATION_TYPE]: 'process',
          [semconv.ATTR_MESSAGING_MESSAGE_ID]: `${conversationId}-m1`,
          [semconv.ATTR_MESSAGING_CONVERSATION_ID]: conversationId,
          [semconv.ATTR_ATTEMPT]: 2,
          [semconv.ATTR_OUTCOME]: 'failed',
          [semconv.ATTR_OUTGOING_MESSAGE_IDS]: [`${conversationId}-m2`, `${conversationId}-m3`],
        },
      });
      attempt.addEvent('retrying', { 'retry.delay_ms': 250 });
      attempt.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });
      attempt.end();

      const exporter = makeExporter(`http://127.0.0.1:${receiver.port()}/v1/traces`);
      const result = await exportWith(exporter, memory.getFinishedSpans());
      await exporter.shutdown();
      await receiver.whenStored();
      expect(result.error).toBeUndefined();
      expect(result.code).toBe(ExportResultCode.SUCCESS);

      const rows = await store.spansOfConversation(conversationId, 10);
      expect(rows).toHaveLength(2);
      const sendRow = rows.find((r) => r.kind === 'producer')!;
      const attemptRow = rows.find((r) => r.kind === 'consumer')!;
      expect(sendRow).toMatchObject({
        traceId: send.spanContext().traceId,
        spanId: send.spanContext().spanId,
        service: 'orders',
        name: 'orders publish',
        operation: 'send',
        messagingSystem: 'rabbitmq',
        destination: 'orders',
        messageType: 'SubmitOrder',
        idempotencyKey: 'idem-42',
        payloadOffloaded: true,
        payloadBytes: 2_000_000,
        payloadRef: 'blob://payloads/1',
      });
      expect(sendRow.attributes['app.tags']).toBe('["a","b"]');
      expect(sendRow.resourceAttributes['deployment.environment']).toBe('test');
      expect(attemptRow).toMatchObject({
        spanId: attempt.spanContext().spanId,
        operation: 'process',
        attempt: 2,
        outcome: 'failed',
        statusCode: 'error',
        statusMessage: 'payment declined',
        outgoingMessageIds: [`${conversationId}-m2`, `${conversationId}-m3`],
      });
      expect(attemptRow.links).toEqual([{ traceId: send.spanContext().traceId, spanId: send.spanContext().spanId, attributes: {} }]);
      expect(attemptRow.events.map((e) => [e.name, e.attributes])).toEqual([['retrying', { 'retry.delay_ms': '250' }]]);
      // Full nanosecond precision of what the SDK recorded.
      const [sec, nanos] = memory.getFinishedSpans().find((s) => s.name === 'orders process')!.startTime;
      expect(attemptRow.startNs).toBe(BigInt(sec) * 1_000_000_000n + BigInt(nanos));
    });

    it('stores a batch exported twice only once', async () => {
      const spans = [freshSpan(), freshSpan(), freshSpan()];
      const body = buildProtobufBody(resources(...spans));
      const before = await store.spanCount();
      for (let i = 0; i < 2; i++) expect((await postStored(receiver, body, PROTOBUF)).status).toBe(200);
      expect(await store.spanCount()).toBe(before + 3);
      expect(await store.spansOfTrace(spans[0].traceId, 10)).toHaveLength(1);
      // And again through JSON, concurrently.
      const json = buildJsonBody(resources(...spans));
      const statuses = await Promise.all([postStored(receiver, json, JSON_TYPE), postStored(receiver, json, JSON_TYPE)]);
      expect(statuses.map((s) => s.status)).toEqual([200, 200]);
      expect(await store.spanCount()).toBe(before + 3);
    });

    it('answers a partial success with the rejected count and keeps the valid spans', async () => {
      const good = freshSpan();
      const bad = freshSpan({ spanId: '0'.repeat(16) });
      const before = await store.spanCount();
      const response = await postStored(receiver, buildProtobufBody(resources(good, bad)), PROTOBUF);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('application/x-protobuf');
      const { partialSuccess } = decodeExportResponse(response.body);
      expect(partialSuccess?.rejectedSpans).toBe(1);
      expect(partialSuccess?.errorMessage).toContain('spanId is all zeros');
      expect(await store.spanCount()).toBe(before + 1);
      expect((await store.spansOfTrace(good.traceId, 10)).map((s) => s.spanId)).toEqual([good.spanId]);

      const json = await postStored(receiver, buildJsonBody(resources(freshSpan(), freshSpan({ traceId: 'xyz' }))), JSON_TYPE);
      expect(json.status).toBe(200);
      expect(json.headers.get('content-type')).toContain('application/json');
      expect(JSON.parse(json.body.toString())).toEqual({
        partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining('traceId must be 32 hex characters') },
      });
    });

    it('when the store is behind, acknowledges by validation alone and stores the same spans from the log', async () => {
      // No room in memory: the receiver builds no rows; the feeder reads every record back.
      const behind = await startReceiver({ feeding: { maxHotSpans: 0 } });
      try {
        const good = [freshSpan(), freshSpan()];
        const before = await store.spanCount();
        const response = await postStored(behind, buildProtobufBody(resources(good[0], freshSpan({ spanId: '0'.repeat(16) }))), PROTOBUF);
        expect(decodeExportResponse(response.body).partialSuccess).toEqual({
          rejectedSpans: 1,
          errorMessage: expect.stringContaining('spanId is all zeros'),
        });
        const json = await postStored(behind, buildJsonBody(resources(freshSpan({ traceId: 'xyz' }), good[1])), JSON_TYPE);
        expect(JSON.parse(json.body.toString()).partialSuccess).toMatchObject({ rejectedSpans: '1' });
        expect(behind.stats()).toMatchObject({ acceptedSpans: 2, rejectedSpans: 2, storedSpans: 2 });
        expect(await store.spanCount()).toBe(before + 2);
        for (const span of good) expect((await store.spansOfTrace(span.traceId, 10)).map((s) => s.spanId)).toEqual([span.spanId]);
      } finally {
        await behind.close();
      }
    });

    it('answers a full success with an empty ExportTraceServiceResponse', async () => {
      const response = await postStored(receiver, buildProtobufBody(resources(freshSpan())), PROTOBUF);
      expect(response.status).toBe(200);
      expect(decodeExportResponse(response.body)).toEqual({});
      const json = await postStored(receiver, buildJsonBody(resources(freshSpan())), { 'content-type': 'application/json; charset=utf-8' });
      expect([json.status, json.body.toString()]).toEqual([200, '{}']);
    });

    it('answers an empty request with success and stores nothing', async () => {
      const before = await store.spanCount();
      const protobuf = await postStored(receiver, Buffer.alloc(0), PROTOBUF);
      expect([protobuf.status, protobuf.body.length]).toEqual([200, 0]);
      const json = await postStored(receiver, Buffer.alloc(0), JSON_TYPE);
      expect([json.status, json.body.toString()]).toEqual([200, '{}']);
      expect(await store.spanCount()).toBe(before);
    });

    it('stores huge attribute values truncated rather than failing', async () => {
      const span = freshSpan({ attributes: { 'app.blob': 'x'.repeat(100_000) } });
      const response = await postStored(receiver, buildProtobufBody(resources(span)), PROTOBUF);
      expect(response.status).toBe(200);
      const [row] = await store.spansOfTrace(span.traceId, 10);
      expect(row.attributes['app.blob'].length).toBeLessThan(17_000);
      expect(row.attributes['app.blob']).toMatch(/…\[truncated\]$/);
    });

    const deepProtobuf = (() => {
      // Nesting beyond protobufjs' recursion limit, assembled by hand (protobufjs will not encode it).
      const field = (n: number, payload: Buffer) => {
        const header: number[] = [(n << 3) | 2];
        let len = payload.length;
        while (len > 127) {
          header.push((len & 127) | 128);
          len >>>= 7;
        }
        header.push(len);
        return Buffer.concat([Buffer.from(header), payload]);
      };
      let value = field(1, Buffer.from('leaf'));
      for (let i = 0; i < 1_000; i++) value = field(5, field(1, value));
      const span = Buffer.concat([
        field(1, Buffer.from(hexId(77, 16), 'hex')),
        field(2, Buffer.from(hexId(77, 8), 'hex')),
        field(9, Buffer.concat([field(1, Buffer.from('deep')), field(2, value)])),
      ]);
      return field(1, field(2, field(2, span)));
    })();

    const bomb = gzipSync(Buffer.alloc(MAX_BODY_BYTES * 8, 0));

    it.each<[string, () => Buffer, Record<string, string>, number, RegExp]>([
      ['an undecodable protobuf body', () => Buffer.from('definitely not protobuf'), PROTOBUF, 400, /invalid protobuf/],
      ['protobuf nested beyond the recursion limit', () => deepProtobuf, PROTOBUF, 400, /invalid protobuf.*nesting/],
      ['malformed JSON', () => Buffer.from('{"resourceSpans":[{'), JSON_TYPE, 400, /invalid JSON/],
      ['JSON of the wrong shape', () => Buffer.from('{"resourceSpans":{"a":1}}'), JSON_TYPE, 400, /resourceSpans must be an array/],
      [
        'an unsupported content type',
        () => buildJsonBody(resources(freshSpan())),
        { 'content-type': 'text/plain' },
        415,
        /unsupported content type "text\/plain"/,
      ],
      [
        'an oversized body',
        () => Buffer.alloc(MAX_BODY_BYTES + 1, 1),
        PROTOBUF,
        413,
        new RegExp(`exceeds the limit of ${MAX_BODY_BYTES} bytes`),
      ],
      ['a gzip bomb', () => bomb, { ...PROTOBUF, 'content-encoding': 'gzip' }, 413, /decompressed request body exceeds the limit/],
      [
        'a body that is not gzip',
        () => buildProtobufBody(resources(freshSpan())),
        { ...PROTOBUF, 'content-encoding': 'gzip' },
        400,
        /invalid gzip body/,
      ],
      [
        'an unsupported content encoding',
        () => buildProtobufBody(resources(freshSpan())),
        { ...PROTOBUF, 'content-encoding': 'br' },
        415,
        /unsupported Content-Encoding "br"/,
      ],
    ])('refuses %s with a message and stores nothing', async (_label, makeBody, headers, status, message) => {
      const before = await store.spanCount();
      const batchesBefore = storedBatches.length;
      const response = await postStored(receiver, makeBody(), headers);
      expect(response.status).toBe(status);
      expect(statusMessage(response)).toMatch(message);
      expect(await store.spanCount()).toBe(before);
      expect(storedBatches.length).toBe(batchesBefore);
    });

    it.each<[string, Partial<SpanSpec>, RegExp]>([
      ['ids of the wrong length', { traceId: 'abcdef', spanId: 'ab' }, /traceId must be 16 bytes/],
      ['a start before 2000', { startNs: 900_000_000_000_000_000n, endNs: 900_000_000_100_000_000n }, /before 2000-01-01/],
      [
        'a start a week in the future',
        { startNs: BigInt(Date.now() + 7 * 86_400_000) * 1_000_000n, endNs: BigInt(Date.now() + 7 * 86_400_000) * 1_000_000n + 1n },
        /too far in the future/,
      ],
      [
        'an end before the start',
        { startNs: BigInt(Date.now()) * 1_000_000n, endNs: BigInt(Date.now() - 1000) * 1_000_000n },
        /before startTimeUnixNano/,
      ],
    ])('rejects spans with %s in partialSuccess and stores nothing', async (_label, overrides, message) => {
      const before = await store.spanCount();
      const response = await postStored(receiver, buildProtobufBody(resources(freshSpan(overrides), freshSpan(overrides))), PROTOBUF);
      expect(response.status).toBe(200);
      const { partialSuccess } = decodeExportResponse(response.body);
      expect(partialSuccess?.rejectedSpans).toBe(2);
      expect(partialSuccess?.errorMessage).toMatch(message);
      expect(await store.spanCount()).toBe(before);
    });

    it('tells onSpansStored which spans were committed', async () => {
      const span = freshSpan();
      storedBatches = [];
      expect((await postStored(receiver, buildProtobufBody(resources(span)), PROTOBUF)).status).toBe(200);
      expect(storedBatches.flat().map((s) => [s.spanId, s.conversationId])).toEqual([[span.spanId, `conv-${seed}`]]);
    });

    it('answers 503 with Retry-After while the ingest log is full, keeps what it acknowledged, and accepts again once the store catches up', async () => {
      const gate = gatedStore(store);
      const body = () => buildProtobufBody(resources(freshSpan(), freshSpan()));
      // Room for about three such requests in the log.
      const saturated = await startReceiver({ store: gate, retryAfterSeconds: 3 }, body().length * 3 + 100);
      try {
        const before = await store.spanCount();
        const statuses: number[] = [];
        let refused;
        for (let i = 0; i < 10 && !refused; i++) {
          const response = await post(saturated, body(), PROTOBUF);
          if (response.status === 503) refused = response;
          else statuses.push(response.status);
        }
        expect(statuses).toEqual([200, 200, 200]);
        expect(refused!.headers.get('retry-after')).toBe('3');
        expect(statusMessage(refused!)).toMatch(/ingest log is full \(--spool-max/);
        expect(saturated.stats().lag).toMatchObject({ spans: 6 });
        gate.open();
        await saturated.whenStored();
        expect(await store.spanCount()).toBe(before + 6);
        expect((await postStored(saturated, body(), PROTOBUF)).status).toBe(200);
        expect(await store.spanCount()).toBe(before + 8);
      } finally {
        gate.open();
        await saturated.close();
      }
    });

    it('keeps answering 200 while the store fails, and stores everything once it recovers', async () => {
      let failing = true;
      const flaky = {
        insertSpans: (spans: SpanRow[]) => (failing ? Promise.reject(new Error('store is down')) : store.insertSpans(spans)),
      };
      const fragile = await startReceiver({ store: flaky, feeding: { retryDelayMs: 5, maxRetryDelayMs: 20 } });
      try {
        const before = await store.spanCount();
        for (let i = 0; i < 3; i++) expect((await post(fragile, buildProtobufBody(resources(freshSpan())), PROTOBUF)).status).toBe(200);
        await waitFor(() => fragile.stats().storeError === 'store is down');
        expect(fragile.stats().lag.spans).toBe(3);
        failing = false;
        await fragile.whenStored();
        expect(await store.spanCount()).toBe(before + 3);
        expect(fragile.stats()).toMatchObject({ storeError: null, lag: { bytes: 0, spans: 0, oldestAgeMs: 0 } });
      } finally {
        await fragile.close();
      }
    });

    it('on close, feeds the store every request it had acknowledged', async () => {
      const gate = gatedStore(store);
      const closing = await startReceiver({ store: gate });
      const spans = [freshSpan(), freshSpan(), freshSpan()];
      const before = await store.spanCount();
      const responses = await Promise.all(spans.map((span) => post(closing, buildProtobufBody(resources(span)), PROTOBUF)));
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
      await gate.waitForInserts(1);
      const closed = closing.close();
      gate.open();
      await closed;
      expect(await store.spanCount()).toBe(before + 3);
    });
  });
});

describe('durability', () => {
  it('keeps every acknowledged span when the collector process is killed right after the 200, replaying the log at restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onceflow-kill-'));
    tempDirs.push(dir);
    const module = (name: string) => JSON.stringify(fileURLToPath(new URL(name, import.meta.url)));
    const script = `
      import { DuckDbStore } from ${module('../store/duckdb/duckdb-store.ts')};
      import { openIngestLog } from ${module('./log/ingest-log.ts')};
      import { createOtlpReceiver } from ${module('./receiver.ts')};
      const store = new DuckDbStore({ dataDir: process.env.ONCEFLOW_KILL_DIR });
      await store.init();
      const log = await openIngestLog({ dir: process.env.ONCEFLOW_KILL_DIR + '/ingest-log', spoolMaxBytes: 1 << 26, maxPayloadBytes: 1 << 20 });
      const receiver = createOtlpReceiver({ store, log });
      await receiver.listen(0);
      console.log(JSON.stringify({ port: receiver.port() }));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, ONCEFLOW_KILL_DIR: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    try {
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      const { port } = JSON.parse(line.toString()) as { port: number };
      const sent: SpanSpec[] = [];
      for (let i = 0; i < 5; i++) {
        const spans = [freshSpan(), freshSpan(), freshSpan()];
        const response = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
          method: 'POST',
          body: buildProtobufBody(resources(...spans)),
          headers: PROTOBUF,
        });
        expect(response.status).toBe(200);
        sent.push(...spans);
      }
      child.kill('SIGKILL');
      await exited;

      // The restarted receiver replays what the store had not confirmed.
      const reopened = new DuckDbStore({ dataDir: dir });
      await reopened.init();
      const log = await openIngestLog({ dir: join(dir, 'ingest-log'), spoolMaxBytes: 1 << 26, maxPayloadBytes: 1 << 20 });
      const restarted = createOtlpReceiver({ store: reopened, log });
      await restarted.whenStored();
      await restarted.close();
      try {
        expect(await reopened.spanCount()).toBe(sent.length);
        for (const span of sent) expect((await reopened.spansOfTrace(span.traceId, 10)).map((s) => s.spanId)).toEqual([span.spanId]);
      } finally {
        await reopened.close();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

/** Passes inserts to the real store only once the test opens the gate. */
function gatedStore(store: SpanStore) {
  let opened = false;
  let started = 0;
  const waiting: (() => void)[] = [];
  return {
    async insertSpans(spans: SpanRow[]) {
      started++;
      if (!opened) await new Promise<void>((resolve) => waiting.push(resolve));
      await store.insertSpans(spans);
    },
    open() {
      opened = true;
      for (const resolve of waiting.splice(0)) resolve();
    },
    waitForInserts: (count: number) => waitFor(() => started >= count),
  };
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error('condition not reached in 10 s');
}
