/**
 * Property-based tests (fast-check) of the OTLP receiver against generated bodies: random
 * bytes as protobuf, random JSON, OTLP-shaped JSON with wrong types and extreme values,
 * valid protobuf with bytes flipped or cut, random gzip. For every body: never a 5xx, the
 * process stays up, a refused request (4xx) stores nothing, a 200 stores at most what it
 * accepted, and heap growth stays bounded. Counterexamples fast-check found (shrunk) are kept
 * below as fixed regression cases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import * as semconv from '@onceflow/instrumentation/semconv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildJsonRequest, buildProtobufBody, hexId } from '../otlp/request-builder.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { openIngestLog } from './log/ingest-log.js';
import { createOtlpReceiver, type OtlpReceiver } from './receiver.js';

const MAX_BODY_BYTES = 64 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'onceflow-fuzz-'));
let store: DuckDbStore;
let receiver: OtlpReceiver;

beforeAll(async () => {
  store = new DuckDbStore({ path: ':memory:' });
  await store.init();
  const log = await openIngestLog({ dir, spoolMaxBytes: 256 << 20, maxPayloadBytes: MAX_BODY_BYTES });
  receiver = createOtlpReceiver({ store, log, limits: { maxBodyBytes: MAX_BODY_BYTES } });
});

afterAll(async () => {
  await receiver.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

type Body = { payload: Buffer; contentType: string; contentEncoding?: string };

/** Posts the body; checks the invariants every answer must keep; returns the status. */
async function postAndCheck({ payload, contentType, contentEncoding }: Body): Promise<number> {
  const before = await store.spanCount();
  const accepted = receiver.stats().acceptedSpans;
  const response = await receiver.app.inject({
    method: 'POST',
    url: '/v1/traces',
    payload,
    headers: { 'content-type': contentType, ...(contentEncoding ? { 'content-encoding': contentEncoding } : {}) },
  });
  await receiver.whenStored();
  const stored = (await store.spanCount()) - before;
  expect(response.statusCode, response.body).toBeLessThan(500);
  expect([200, 400, 413, 415]).toContain(response.statusCode);
  if (response.statusCode !== 200) expect(stored).toBe(0);
  else expect(stored).toBeLessThanOrEqual(receiver.stats().acceptedSpans - accepted);
  return response.statusCode;
}

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

let seed = 0;
function validSpans(count: number) {
  const start = BigInt(Date.now() - 5_000) * 1_000_000n;
  return Array.from({ length: count }, () => {
    seed++;
    return {
      traceId: hexId(seed * 31 + 7, 16),
      spanId: hexId(seed, 8),
      name: 'orders process',
      kind: 5,
      startNs: start,
      endNs: start + 1_000_000n,
      attributes: { [semconv.ATTR_MESSAGING_MESSAGE_ID]: `m-${seed}`, [semconv.ATTR_OUTCOME]: 'processed' },
    };
  });
}
const resources = (count: number) => [{ attributes: { [semconv.ATTR_SERVICE_NAME]: 'fuzz' }, spans: validSpans(count) }];

/** A one-span OTLP/JSON request with one span field replaced. */
function withSpanField(field: string, value: unknown) {
  const request = buildJsonRequest(resources(1)) as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
  request.resourceSpans[0].scopeSpans[0].spans[0][field] = value;
  return request;
}

function withScopeField(field: string, value: unknown) {
  const request = buildJsonRequest(resources(1)) as { resourceSpans: { scopeSpans: Record<string, unknown>[] }[] };
  request.resourceSpans[0].scopeSpans[0][field] = value;
  return request;
}

/** Values OTLP fields may wrongly carry: every JSON type, huge and odd numbers, long and odd strings. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    2 ** 53,
    -(2 ** 63),
    1e308,
    '',
    '0',
    '-1',
    'NaN',
    '18446744073709551616',
    'ZZZZ',
    '\u0000',
    '\ud800',
  ),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

/** OTLP/JSON requests whose fields are sometimes right, sometimes replaced by an odd value. */
const otlpShapedJson = fc
  .record({
    spans: fc.integer({ min: 1, max: 4 }),
    corruptions: fc.array(
      fc.tuple(
        fc.constantFrom(
          'resource',
          'scopeSpans',
          'spans',
          'traceId',
          'spanId',
          'parentSpanId',
          'name',
          'kind',
          'startTimeUnixNano',
          'endTimeUnixNano',
          'attributes',
          'events',
          'links',
          'status',
          'value',
          'key',
          'intValue',
          'arrayValue',
          'kvlistValue',
          'droppedAttributesCount',
          'traceState',
          'flags',
        ),
        oddValue,
      ),
      { maxLength: 4 },
    ),
  })
  .map(({ spans, corruptions }) => {
    const request = buildJsonRequest(resources(spans)) as { resourceSpans: Record<string, unknown>[] };
    const first = request.resourceSpans[0] as { scopeSpans: { spans: Record<string, unknown>[] }[] };
    const scope = first.scopeSpans[0];
    const span = scope.spans[0];
    const attributes = span.attributes as Record<string, unknown>[];
    // Span fields first, then the structure around the span (which may remove it).
    const structural = (field: string) => ['resource', 'scopeSpans', 'spans'].includes(field);
    for (const [field, value] of [...corruptions].sort(([a], [b]) => Number(structural(a)) - Number(structural(b)))) {
      if (field === 'resource' || field === 'scopeSpans') request.resourceSpans[0][field] = value;
      else if (field === 'spans') scope.spans = value as never;
      else if (field === 'value' || field === 'key') attributes[0][field] = value;
      else if (field === 'intValue' || field === 'arrayValue' || field === 'kvlistValue')
        attributes.push({ key: 'odd', value: { [field]: value } });
      else span[field] = value;
    }
    return Buffer.from(JSON.stringify(request));
  });

/** A valid protobuf request with some bytes changed, some cut off, or some inserted. */
const mutatedProtobuf = fc
  .record({
    spans: fc.integer({ min: 1, max: 5 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat()),
    insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 12 }))),
  })
  .map(({ spans, flips, cut, insert }) => {
    let body = Buffer.from(buildProtobufBody(resources(spans)));
    for (const [at, xor] of flips) body[at % body.length] ^= xor;
    if (insert) {
      const at = insert[0] % body.length;
      body = Buffer.concat([body.subarray(0, at), Buffer.from(insert[1]), body.subarray(at)]);
    }
    if (cut !== null) body = body.subarray(0, cut % body.length);
    return body;
  });

const RUNS = Number(process.env.ONCEFLOW_FUZZ_RUNS ?? 150);

describe('OTLP receiver under generated input', { timeout: 30_000 + RUNS * 200 }, () => {
  it('random bytes as protobuf', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), (bytes) =>
        postAndCheck({ payload: Buffer.from(bytes), contentType: PROTOBUF }).then(() => undefined),
      ),
      { numRuns: RUNS },
    );
  });

  it('valid protobuf with bytes flipped, inserted or cut', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedProtobuf, (payload) => postAndCheck({ payload, contentType: PROTOBUF }).then(() => undefined)),
      { numRuns: RUNS },
    );
  });

  it('any JSON value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 4 }), (text) =>
        postAndCheck({ payload: Buffer.from(text), contentType: JSON_TYPE }).then(() => undefined),
      ),
      { numRuns: RUNS },
    );
  });

  it('OTLP-shaped JSON with odd field values', async () => {
    await fc.assert(
      fc.asyncProperty(otlpShapedJson, (payload) => postAndCheck({ payload, contentType: JSON_TYPE }).then(() => undefined)),
      { numRuns: RUNS },
    );
  });

  it('gzip of anything, and bytes that claim to be gzip', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 1024 }),
        fc.boolean(),
        fc.constantFrom(PROTOBUF, JSON_TYPE),
        (bytes, compress, contentType) =>
          postAndCheck({ payload: compress ? gzipSync(bytes) : Buffer.from(bytes), contentType, contentEncoding: 'gzip' }).then(
            () => undefined,
          ),
      ),
      { numRuns: RUNS },
    );
  });

  it('keeps heap growth bounded over many generated requests', async () => {
    const before = process.memoryUsage().heapUsed;
    await fc.assert(
      fc.asyncProperty(mutatedProtobuf, (payload) => postAndCheck({ payload, contentType: PROTOBUF }).then(() => undefined)),
      { numRuns: RUNS * 2 },
    );
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(256 * 1024 * 1024);
  });

  // Shrunk inputs from runs of these properties (ONCEFLOW_FUZZ_RUNS=1500), kept as fixed cases.
  it.each<[string, Body, number]>([
    ['an empty body claiming gzip', { payload: Buffer.alloc(0), contentType: JSON_TYPE, contentEncoding: 'gzip' }, 400],
    ['a gzip of nothing', { payload: gzipSync(Buffer.alloc(0)), contentType: PROTOBUF, contentEncoding: 'gzip' }, 200],
    [
      'a lone surrogate as the span name',
      { payload: Buffer.from(JSON.stringify(withSpanField('name', '\ud800'))), contentType: JSON_TYPE },
      200,
    ],
    ['spans: null', { payload: Buffer.from(JSON.stringify(withScopeField('spans', null))), contentType: JSON_TYPE }, 200],
    ['a numeric traceId', { payload: Buffer.from(JSON.stringify(withSpanField('traceId', 0))), contentType: JSON_TYPE }, 200],
    [
      'startTimeUnixNano beyond 64 bits',
      { payload: Buffer.from(JSON.stringify(withSpanField('startTimeUnixNano', '18446744073709551616'))), contentType: JSON_TYPE },
      200,
    ],
  ])('regression: %s', async (_label, body, status) => {
    expect(await postAndCheck(body)).toBe(status);
  });
});
