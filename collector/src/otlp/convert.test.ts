import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convertExportRequest, countSpans, describeRejections, validateExportRequest } from './convert.js';
import { decodeExportRequest, decodeJson, OtlpDecodeError } from './decode.js';
import { DEFAULT_LIMITS, resolveLimits, TRUNCATION_MARKER } from './limits.js';
import type { IngestLimits } from './limits.js';
import protobuf from 'protobufjs';
import { buildJsonBody, buildJsonRequest, buildProtobufBody, hexId } from './request-builder.js';
import type { ResourceSpec, SpanSpec } from './request-builder.js';
import type { OtlpExportRequest } from './types.js';
import { idState, idToHex } from './values.js';

const NOW_MS = Date.UTC(2026, 10, 26, 12, 0, 0);
const NOW_NS = BigInt(NOW_MS) * 1_000_000n;

function makeSpan(overrides: Partial<SpanSpec> = {}): SpanSpec {
  return {
    traceId: hexId(1, 16),
    spanId: hexId(2, 8),
    name: 'orders publish',
    kind: 4,
    startNs: NOW_NS - 5_000_000_000n + 123n,
    endNs: NOW_NS - 4_000_000_000n + 456n,
    ...overrides,
  };
}

function resource(spans: SpanSpec[], attributes: ResourceSpec['attributes'] = { 'service.name': 'orders' }): ResourceSpec[] {
  return [{ attributes, spans }];
}

/** Converts the request and checks that validation alone decides the same (accepted, rejected, reasons). */
function convertAndValidate(request: OtlpExportRequest, limits: IngestLimits = DEFAULT_LIMITS) {
  const converted = convertExportRequest(request, limits, NOW_MS);
  const validated = validateExportRequest(request, limits, NOW_MS);
  expect(validated).toEqual({ accepted: converted.spans.length, rejected: converted.rejected, reasons: converted.reasons });
  expect(converted.accepted).toBe(converted.spans.length);
  expect(countSpans(request)).toBe(converted.accepted + converted.rejected);
  return converted;
}

/** Decodes and converts the same request through both encodings and checks they agree. */
function convertBoth(resources: ResourceSpec[], limits: IngestLimits = DEFAULT_LIMITS) {
  const fromProtobuf = convertAndValidate(decodeExportRequest(buildProtobufBody(resources), 'protobuf', limits), limits);
  const fromJson = convertAndValidate(decodeExportRequest(buildJsonBody(resources), 'json', limits), limits);
  // Reasons may word id errors differently (bytes vs hex characters); the outcome may not differ.
  expect(fromJson.spans).toEqual(fromProtobuf.spans);
  expect(fromJson.rejected).toBe(fromProtobuf.rejected);
  return fromProtobuf;
}

describe('convertExportRequest', () => {
  it('lifts the Onceflow identity attributes into columns and keeps the rest as strings', () => {
    const { spans, rejected } = convertBoth(
      resource(
        [
          makeSpan({
            parentSpanId: hexId(9, 8),
            attributes: {
              'messaging.system': 'rabbitmq',
              'messaging.operation.type': 'process',
              'messaging.destination.name': 'billing',
              'messaging.message.id': 'msg-1',
              'messaging.message.conversation_id': 'conv-1',
              'onceflow.causation_id': 'msg-0',
              'onceflow.idempotency_key': 'idem-1',
              'onceflow.message_type': 'OrderBilled',
              'onceflow.attempt': 3,
              'onceflow.outcome': 'duplicate',
              'onceflow.payload.offloaded': true,
              'onceflow.payload.ref': 'blob://x/1',
              'onceflow.payload.bytes': 1_048_576,
              'onceflow.outgoing_message_ids': ['msg-2', 'msg-3'],
              'http.response.status_code': 200,
              'app.ratio': 0.25,
              'app.flag': false,
              'app.tags': ['a', 'b'],
              'app.nested': { k: [1, 'two'] },
            },
            events: [{ timeNs: NOW_NS - 4_500_000_000n, name: 'exception', attributes: { 'exception.message': 'boom' } }],
            links: [{ traceId: hexId(5, 16), spanId: hexId(6, 8), attributes: { 'link.kind': 'producer' } }],
            status: { code: 2, message: 'failed' },
          }),
        ],
        { 'service.name': 'billing', 'host.name': 'h1', 'process.pid': 42 },
      ),
    );
    expect(rejected).toBe(0);
    expect(spans).toHaveLength(1);
    const span = spans[0];
    expect(span).toMatchObject({
      traceId: hexId(1, 16),
      spanId: hexId(2, 8),
      parentSpanId: hexId(9, 8),
      service: 'billing',
      name: 'orders publish',
      kind: 'producer',
      statusCode: 'error',
      statusMessage: 'failed',
      startNs: NOW_NS - 5_000_000_000n + 123n,
      durationNs: 1_000_000_333,
      messageId: 'msg-1',
      conversationId: 'conv-1',
      causationId: 'msg-0',
      idempotencyKey: 'idem-1',
      messageType: 'OrderBilled',
      attempt: 3,
      outcome: 'duplicate',
      payloadBytes: 1_048_576,
      payloadOffloaded: true,
      payloadRef: 'blob://x/1',
      destination: 'billing',
      operation: 'process',
      messagingSystem: 'rabbitmq',
      outgoingMessageIds: ['msg-2', 'msg-3'],
    });
    expect(span.attributes).toEqual({
      'http.response.status_code': '200',
      'app.ratio': '0.25',
      'app.flag': 'false',
      'app.tags': '["a","b"]',
      'app.nested': '{"k":[1,"two"]}',
    });
    expect(span.resourceAttributes).toEqual({ 'service.name': 'billing', 'host.name': 'h1', 'process.pid': '42' });
    expect(span.events).toEqual([{ timeNs: NOW_NS - 4_500_000_000n, name: 'exception', attributes: { 'exception.message': 'boom' } }]);
    expect(span.links).toEqual([{ traceId: hexId(5, 16), spanId: hexId(6, 8), attributes: { 'link.kind': 'producer' } }]);
  });

  it.each([
    ['publish', 'send'],
    ['send', 'send'],
    ['create', 'create'],
    ['receive', 'receive'],
    ['deliver', 'process'],
    ['process', 'process'],
    ['settle', 'settle'],
  ])('maps the legacy messaging.operation %s to %s', (legacy, expected) => {
    const { spans } = convertBoth(resource([makeSpan({ attributes: { 'messaging.operation': legacy } })]));
    expect(spans[0].operation).toBe(expected);
    expect(spans[0].attributes).toEqual({});
  });

  it('prefers messaging.operation.type over the legacy name, whatever the order', () => {
    const { spans } = convertBoth(
      resource([makeSpan({ attributes: { 'messaging.operation.type': 'receive', 'messaging.operation': 'publish' } })]),
    );
    expect(spans[0].operation).toBe('receive');
  });

  it('keeps identity attributes whose values do not fit their column in attributes', () => {
    const { spans } = convertBoth(
      resource([
        makeSpan({
          // Internal: a producer's operation would be inferred from its kind.
          kind: 1,
          attributes: {
            'onceflow.attempt': 'first',
            'onceflow.outcome': 'exploded',
            'messaging.operation.type': 'teleport',
            'onceflow.payload.offloaded': 'maybe',
          },
        }),
      ]),
    );
    expect(spans[0]).toMatchObject({ attempt: 0, outcome: '', operation: '', payloadOffloaded: false });
    expect(spans[0].attributes).toEqual({
      'onceflow.attempt': 'first',
      'onceflow.outcome': 'exploded',
      'messaging.operation.type': 'teleport',
      'onceflow.payload.offloaded': 'maybe',
    });
  });

  it('reads numbers and booleans sent as text, and outgoing ids as JSON or comma-separated text', () => {
    const { spans } = convertBoth(
      resource([
        makeSpan({
          spanId: hexId(2, 8),
          attributes: { 'onceflow.attempt': '2', 'onceflow.payload.offloaded': 'true', 'onceflow.outgoing_message_ids': '["x","y"]' },
        }),
        makeSpan({ spanId: hexId(3, 8), attributes: { 'onceflow.outgoing_message_ids': 'x, y' } }),
      ]),
    );
    expect(spans[0]).toMatchObject({ attempt: 2, payloadOffloaded: true, outgoingMessageIds: ['x', 'y'] });
    expect(spans[1].outgoingMessageIds).toEqual(['x', 'y']);
  });

  it('defaults service, kind and status when absent', () => {
    const { spans } = convertBoth(resource([makeSpan({ kind: 0 })], {}));
    expect(spans[0]).toMatchObject({ service: 'unknown_service', kind: 'internal', statusCode: 'unset', statusMessage: '' });
  });

  it('keeps nanosecond precision beyond 2^53', () => {
    const startNs = 1_790_000_000_123_456_789n;
    const { spans } = convertBoth(resource([makeSpan({ startNs, endNs: startNs + 1n })]));
    expect(spans[0].startNs).toBe(startNs);
    expect(spans[0].durationNs).toBe(1);
  });

  describe.each<[string, Partial<SpanSpec>, string]>([
    ['a short trace id', { traceId: 'abcd' }, 'traceId must be'],
    ['an all-zero trace id', { traceId: '0'.repeat(32) }, 'traceId is all zeros'],
    ['an empty trace id', { traceId: '' }, 'traceId is missing'],
    ['a long span id', { spanId: 'ab'.repeat(9) }, 'spanId must be'],
    ['an all-zero span id', { spanId: '0'.repeat(16) }, 'spanId is all zeros'],
    ['a bad parent id', { parentSpanId: 'abc' }, 'parentSpanId must be'],
    ['a start before 2000', { startNs: 946_684_799_000_000_000n, endNs: 946_684_800_000_000_000n }, 'is before 2000-01-01'],
    [
      'a start days in the future',
      { startNs: NOW_NS + 2n * 86_400_000_000_000n, endNs: NOW_NS + 3n * 86_400_000_000_000n },
      'too far in the future',
    ],
    ['an end before the start', { startNs: NOW_NS - 1_000n, endNs: NOW_NS - 2_000n }, 'is before startTimeUnixNano'],
    ['a missing start', { startNs: 0n }, 'startTimeUnixNano is missing'],
    ['a link with a bad id', { links: [{ traceId: 'abcd', spanId: hexId(1, 8) }] }, 'link 0: traceId must be'],
  ])('a span with %s', (_label, overrides, reason) => {
    it('is rejected and counted, and the other spans are kept', () => {
      const good = makeSpan({ spanId: hexId(100, 8) });
      const result = convertBoth(resource([makeSpan({ spanId: hexId(101, 8), ...overrides }), good]));
      expect(result.rejected).toBe(1);
      expect(result.spans.map((s) => s.spanId)).toEqual([hexId(100, 8)]);
      expect(result.reasons).toHaveLength(1);
      expect(result.reasons[0]).toContain(reason);
      expect(describeRejections(result)).toContain('1 of 2 spans rejected');
    });
  });

  it('rejects a JSON id that is not hex', () => {
    const request = buildJsonRequest(resource([makeSpan()]));
    const span = (request as any).resourceSpans[0].scopeSpans[0].spans[0];
    span.traceId = 'g'.repeat(32);
    const result = convertExportRequest(decodeJson(Buffer.from(JSON.stringify(request)), DEFAULT_LIMITS), DEFAULT_LIMITS, NOW_MS);
    expect(result.rejected).toBe(1);
    expect(result.reasons[0]).toContain('traceId must be 32 hex characters');
  });

  it('truncates huge values and names, and caps attribute counts', () => {
    const limits = resolveLimits({ maxAttributeValueLength: 100, maxNameLength: 50, maxAttributesPerSpan: 3 });
    const { spans } = convertBoth(
      resource([
        makeSpan({
          name: 'n'.repeat(200),
          attributes: { big: 'x'.repeat(10_000), 'messaging.message.id': 'm'.repeat(500), a: '1', b: '2', c: '3' },
        }),
      ]),
      limits,
    );
    expect(spans[0].name).toBe('n'.repeat(50) + TRUNCATION_MARKER);
    expect(spans[0].attributes.big).toBe('x'.repeat(100) + TRUNCATION_MARKER);
    expect(spans[0].messageId).toBe('m'.repeat(100) + TRUNCATION_MARKER);
    expect(Object.keys(spans[0].attributes)).toEqual(['big', 'a']);
  });

  it('cuts deeply nested attribute values at the depth limit', () => {
    let nested: any = 'leaf';
    for (let i = 0; i < 12; i++) nested = [nested];
    const limits = resolveLimits({ maxAttributeDepth: 3 });
    const { spans } = convertBoth(resource([makeSpan({ attributes: { deep: nested } })]), limits);
    expect(JSON.parse(spans[0].attributes.deep)).toEqual([[['[max depth exceeded]']]]);
  });

  it('survives JSON nesting far beyond any stack', () => {
    const depth = 200_000;
    const json =
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' +
      hexId(1, 16) +
      '","spanId":"' +
      hexId(2, 8) +
      `","startTimeUnixNano":"${NOW_NS - 10n}","endTimeUnixNano":"${NOW_NS}","attributes":[{"key":"deep","value":` +
      '{"arrayValue":{"values":['.repeat(depth) +
      '{"stringValue":"x"}' +
      ']}}'.repeat(depth) +
      '}]}]}]}]}';
    let result;
    try {
      result = convertExportRequest(decodeJson(Buffer.from(json), DEFAULT_LIMITS), DEFAULT_LIMITS, NOW_MS);
    } catch (error) {
      // Either outcome is fine as long as it is a clean decode error, not a crash.
      expect(error).toBeInstanceOf(OtlpDecodeError);
      return;
    }
    expect(result.spans).toHaveLength(1);
    expect(result.spans[0].attributes.deep).toContain('[max depth exceeded]');
  });
});

describe('decodeExportRequest', () => {
  it('refuses protobuf nested beyond the decoder recursion limit instead of overflowing the stack', () => {
    // protobufjs refuses to encode such depth, so the wire bytes are assembled field by field.
    const field = (number: number, payload: Uint8Array) =>
      protobuf.Writer.create()
        .uint32((number << 3) | 2)
        .bytes(payload)
        .finish();
    const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);
    let value: Uint8Array = field(1, Buffer.from('leaf'));
    for (let i = 0; i < 5_000; i++) value = field(5, field(1, value));
    const keyValue = concat(field(1, Buffer.from('deep')), field(2, value));
    const span = concat(field(1, Buffer.from(hexId(1, 16), 'hex')), field(2, Buffer.from(hexId(2, 8), 'hex')), field(9, keyValue));
    const body = field(1, field(2, field(2, span)));
    expect(() => decodeExportRequest(body, 'protobuf', DEFAULT_LIMITS)).toThrow(/invalid protobuf.*nesting/);
  });

  it('accepts the proto field names (snake_case) in JSON and numbers for 64-bit integers', () => {
    const body = JSON.stringify({
      resource_spans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { string_value: 'svc' } }] },
          scope_spans: [
            {
              spans: [
                {
                  trace_id: hexId(1, 16).toUpperCase(),
                  span_id: hexId(2, 8),
                  parent_span_id: '',
                  name: 'x',
                  kind: 'SPAN_KIND_CONSUMER',
                  start_time_unix_nano: Number(NOW_NS / 1000n) * 1000,
                  end_time_unix_nano: String(NOW_NS),
                  attributes: [{ key: 'onceflow.attempt', value: { int_value: 2 } }],
                  status: { code: 1 },
                },
              ],
            },
          ],
        },
      ],
    });
    const result = convertExportRequest(decodeJson(Buffer.from(body), DEFAULT_LIMITS), DEFAULT_LIMITS, NOW_MS);
    expect(result.rejected).toBe(0);
    expect(result.spans[0]).toMatchObject({ traceId: hexId(1, 16), service: 'svc', kind: 'consumer', statusCode: 'ok', attempt: 2 });
  });

  it('never fails on mangled bodies with anything but a decode error', () => {
    // Deterministic mutations of a valid body: flipped bytes, truncations, random garbage.
    let state = 42;
    const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const valid = buildProtobufBody(
      resource([makeSpan({ attributes: { a: 'x', n: [1, { k: true }] } }), makeSpan({ spanId: hexId(7, 8) })]),
    );
    const validJson = buildJsonBody(resource([makeSpan()]));
    let decodeErrors = 0;
    for (let i = 0; i < 500; i++) {
      const encoding = i % 2 === 0 ? 'protobuf' : 'json';
      const source = Buffer.from(encoding === 'protobuf' ? valid : validJson);
      const body = i % 5 === 0 ? Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256))) : source;
      for (let flips = 0; flips < 1 + Math.floor(random() * 4); flips++)
        body[Math.floor(random() * body.length)] = Math.floor(random() * 256);
      const cut = body.subarray(0, i % 3 === 0 ? Math.floor(random() * body.length) : body.length);
      try {
        const result = convertAndValidate(decodeExportRequest(cut, encoding, DEFAULT_LIMITS));
        expect(result.spans.length + result.rejected).toBeGreaterThanOrEqual(0);
      } catch (error) {
        expect(error).toBeInstanceOf(OtlpDecodeError);
        decodeErrors++;
      }
    }
    expect(decodeErrors).toBeGreaterThan(0);
  });

  it('treats an empty body as an empty request', () => {
    expect(convertExportRequest(decodeExportRequest(Buffer.alloc(0), 'protobuf', DEFAULT_LIMITS), DEFAULT_LIMITS, NOW_MS).spans).toEqual(
      [],
    );
    expect(convertExportRequest(decodeJson(Buffer.from('{}'), DEFAULT_LIMITS), DEFAULT_LIMITS, NOW_MS).spans).toEqual([]);
    expect(convertExportRequest(decodeJson(Buffer.alloc(0), DEFAULT_LIMITS), DEFAULT_LIMITS, NOW_MS).spans).toEqual([]);
  });

  it.each<[string, 'protobuf' | 'json', Buffer, string]>([
    ['truncated protobuf', 'protobuf', buildProtobufBody(resource([makeSpan()])).subarray(0, 40), 'invalid protobuf'],
    ['garbage protobuf', 'protobuf', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), 'invalid protobuf'],
    ['malformed JSON', 'json', Buffer.from('{"resourceSpans": ['), 'invalid JSON'],
    ['a JSON array', 'json', Buffer.from('[]'), 'request must be an object'],
    ['resourceSpans of the wrong type', 'json', Buffer.from('{"resourceSpans": 5}'), 'resourceSpans must be an array'],
  ])('refuses %s with a message', (_label, encoding, body, message) => {
    expect(() => decodeExportRequest(body, encoding, DEFAULT_LIMITS)).toThrow(OtlpDecodeError);
    expect(() => decodeExportRequest(body, encoding, DEFAULT_LIMITS)).toThrow(message);
  });
});

describe('validateExportRequest', () => {
  // Valid spans with fields swapped, now and then, for one of every shape the decoders can leave
  // (and some they cannot): ids, times and links.
  const mostly = <T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) =>
    fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: hostile });
  const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg'), minLength: length, maxLength: length });
  const id = (bytes: number) =>
    mostly(
      fc.oneof(fc.uint8Array({ minLength: bytes, maxLength: bytes }), fc.constant(hexId(3, bytes))),
      fc.oneof(
        fc.constantFrom(undefined, null, '', [], 7, '0'.repeat(bytes * 2), new Uint8Array(bytes)),
        hex(bytes * 2),
        hex(bytes * 2 + 1),
        fc.uint8Array({ minLength: 0, maxLength: bytes + 1 }),
      ),
    );
  const nowS = Number(NOW_NS / 1_000_000_000n);
  const MIN_NS = BigInt(DEFAULT_LIMITS.minStartMs) * 1_000_000n;
  const MAX_NS = BigInt(NOW_MS + DEFAULT_LIMITS.maxFutureSkewMs) * 1_000_000n;
  const long = (ns: bigint) => ({ low: Number(ns & 0xffffffffn) | 0, high: Number(ns >> 32n) | 0 });
  const seconds = (from: number, to: number) => fc.integer({ min: from, max: to }).map((s) => BigInt(s) * 1_000_000_000n);
  const time = (from: number, to: number) =>
    mostly(
      fc.oneof(seconds(from, to).map(String), seconds(from, to).map(long)),
      fc.oneof(
        fc.constantFrom(undefined, null, 0, '0', 'x', -1, { low: 1 }, { low: 0, high: 0 }),
        seconds(nowS - 10, nowS + 200_000).map(String),
        // Longs at, around and beyond the bounds (2000-01-01, now + 24 h), and any words at all.
        fc
          .oneof(
            seconds(nowS - 10, nowS + 200_000),
            fc.constantFrom(MIN_NS, MAX_NS).chain((ns) => fc.integer({ min: -2, max: 2 }).map((d) => ns + BigInt(d))),
          )
          .map(long),
        fc.record({ low: fc.integer(), high: fc.integer() }),
        fc.double(),
      ),
    );
  const link = mostly(fc.record({ traceId: id(16), spanId: id(8) }), fc.constantFrom(null, 'link'));
  // A start on or near a bound, and an end a few ns either side of it (the same representation).
  const edgeTimes = fc
    .tuple(
      fc.constantFrom(MIN_NS, MAX_NS, NOW_NS),
      fc.integer({ min: -2, max: 2 }),
      fc.integer({ min: -2, max: 2 }),
      fc.constantFrom(long, String),
    )
    .map(([ns, startDelta, endDelta, as]) => ({
      startTimeUnixNano: as(ns + BigInt(startDelta)),
      endTimeUnixNano: as(ns + BigInt(startDelta + endDelta)),
    }));
  const times = fc.oneof(
    { weight: 3, arbitrary: fc.record({ startTimeUnixNano: time(nowS - 100, nowS - 50), endTimeUnixNano: time(nowS - 50, nowS) }) },
    { weight: 1, arbitrary: edgeTimes },
  );
  const span = mostly(
    fc
      .record({
        traceId: id(16),
        spanId: id(8),
        parentSpanId: fc.oneof(fc.constant(undefined), id(8)),
        times,
        links: fc.option(fc.array(link, { maxLength: 3 })),
      })
      .map(({ times, ...rest }) => ({ ...rest, ...times })),
    fc.constantFrom(null, undefined, 5, 'span'),
  );

  it('accepts and rejects exactly the spans the converter does, with the same reasons', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(
        fc.array(span, { maxLength: 8 }),
        fc.integer({ min: 0, max: 2 }),
        fc.constantFrom(DEFAULT_LIMITS.minStartMs, 0),
        (spans, maxLinksPerSpan, minStartMs) => {
          const request = { resourceSpans: [{ resource: null, scopeSpans: [{ spans }] }] } as unknown as OtlpExportRequest;
          const result = convertAndValidate(request, resolveLimits({ maxLinksPerSpan, minStartMs }));
          accepted += result.accepted;
          rejected += result.rejected;
        },
      ),
      { numRuns: 2000 },
    );
    // Both outcomes are common, so the agreement is tested on both sides.
    expect(Math.min(accepted, rejected)).toBeGreaterThan(1000);
  });

  it('idState says what idToHex makes of an id', () => {
    fc.assert(
      fc.property(id(16), fc.constantFrom(8, 16), (value, bytes) => {
        const hexText = idToHex(value as never, bytes, 'id');
        expect(idState(value as never, bytes)).toBe(hexText === null ? 'absent' : typeof hexText === 'string' ? 'valid' : 'invalid');
      }),
      { numRuns: 2000 },
    );
  });
});
