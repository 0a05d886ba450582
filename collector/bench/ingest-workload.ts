/**
 * The fixed ingest benchmark workload: OTLP protobuf ExportTraceServiceRequest bodies of 512
 * spans each, ~10 attributes per span including Onceflow's identity, alternating producer
 * sends and consumer attempts. Deterministic from (index, baseMs), so the load generator and
 * a server process can build identical bodies without shipping them across processes.
 */
import {
  ATTR_ATTEMPT,
  ATTR_IDEMPOTENCY_KEY,
  ATTR_MESSAGE_TYPE,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_OUTCOME,
  ATTR_SERVICE_NAME,
} from '@onceflow/instrumentation/semconv';
import { ExportTraceServiceRequest } from '../src/otlp/proto.js';

export const SPANS_PER_REQUEST = 512;

const str = (stringValue: string) => ({ stringValue });

function id(bytes: number, ...parts: number[]): Buffer {
  const buffer = Buffer.alloc(bytes);
  parts.forEach((part, i) => buffer.writeUInt32BE(part >>> 0, bytes - 4 * (i + 1)));
  buffer[0] = 0x0f; // never all zeros
  return buffer;
}

export type WorkloadEncoding = 'protobuf' | 'json';

/** Body number `index` (distinct ids per index), spans starting around `baseMs`, in either OTLP encoding. */
export function buildWorkloadBody(index: number, baseMs: number, encoding: WorkloadEncoding = 'protobuf'): Uint8Array {
  const request = workloadRequest(index, baseMs);
  if (encoding === 'protobuf') return ExportTraceServiceRequest.encode(request).finish();
  // OTLP/JSON: ids as hex strings; everything else has the same shape.
  return Buffer.from(
    JSON.stringify(request, (_key, value: unknown) => (isIdBuffer(value) ? Buffer.from(value.data).toString('hex') : value)),
  );
}

function isIdBuffer(value: unknown): value is { type: 'Buffer'; data: number[] } {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer';
}

function workloadRequest(index: number, baseMs: number) {
  const spans = [];
  for (let i = 0; i < SPANS_PER_REQUEST; i++) {
    const flow = index * SPANS_PER_REQUEST + i;
    const conversation = Math.floor(flow / 8);
    const isSend = i % 2 === 0;
    const startNs = (BigInt(baseMs) * 1_000_000n + BigInt(flow) * 1_000n).toString();
    const endNs = (BigInt(baseMs) * 1_000_000n + BigInt(flow) * 1_000n + 750_000n).toString();
    spans.push({
      traceId: id(16, conversation, index),
      spanId: id(8, flow),
      parentSpanId: isSend ? undefined : id(8, flow - 1),
      name: isSend ? 'orders publish' : 'orders process',
      kind: isSend ? 4 : 5,
      startTimeUnixNano: startNs,
      endTimeUnixNano: endNs,
      attributes: [
        { key: ATTR_MESSAGING_SYSTEM, value: str('rabbitmq') },
        { key: ATTR_MESSAGING_OPERATION_TYPE, value: str(isSend ? 'send' : 'process') },
        { key: ATTR_MESSAGING_DESTINATION_NAME, value: str('orders') },
        { key: ATTR_MESSAGING_MESSAGE_ID, value: str(`msg-${index}-${i >> 1}`) },
        { key: ATTR_MESSAGING_CONVERSATION_ID, value: str(`conv-${index}-${conversation}`) },
        { key: ATTR_MESSAGE_TYPE, value: str('SubmitOrder') },
        { key: ATTR_IDEMPOTENCY_KEY, value: str(`order-${conversation}`) },
        { key: ATTR_ATTEMPT, value: { intValue: 1 } },
        { key: ATTR_OUTCOME, value: str(isSend ? '' : 'processed') },
        { key: 'app.order_id', value: str(`order-${conversation}`) },
        { key: 'net.peer.port', value: { intValue: 5672 } },
      ].filter((kv) => !(kv.key === ATTR_OUTCOME && isSend)),
      status: { code: 0 },
    });
  }
  const request = {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: ATTR_SERVICE_NAME, value: str(index % 2 ? 'billing' : 'orders') },
            { key: 'service.version', value: str('1.4.2') },
            { key: 'host.name', value: str('bench-host') },
          ],
        },
        scopeSpans: [{ scope: { name: '@onceflow/instrumentation', version: '0.1.0' }, spans }],
      },
    ],
  };
  return request;
}
