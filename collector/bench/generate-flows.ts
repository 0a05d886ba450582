/**
 * Synthetic shop traffic for the query benchmark: conversations shaped like the fixture flows
 * (shop-api → SubmitOrder → orders → BillCustomer → billing ⇒ payments.example → OrderBilled →
 * shipping, marketing, sometimes invoicing), with anomalies injected at realistic rates.
 * SpanRows are built directly (no OTLP, no builders) so millions generate in seconds.
 * Deterministic for a seed; ids are random-looking hex like real trace and UUID-ish ids.
 *
 *   shop-api POST /orders ─ send SubmitOrder ─> orders #1 ─ send BillCustomer ─> billing #1
 *                                                           billing ⇒ payments.example
 *                                                           billing ─ send OrderBilled ─> shipping, marketing, (invoicing)
 */
import { msToNs, type SpanKind, type SpanRow } from '../src/model/span.js';

export interface GeneratorOptions {
  /** Stop after about this many spans (whole conversations). */
  totalSpans: number;
  /** Conversations start evenly spread over [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  seed: number;
  /** Spans per yielded batch (whole conversations). */
  batchSpans: number;
}

/** One generated conversation. Conversations of the same `shape` differ only in ids and start time. */
export interface GeneratedConversation {
  spans: SpanRow[];
  /** Which faults were injected, e.g. `retry+duplicateDelivery`; '' for a healthy flow. */
  shape: string;
  conversationId: string;
  orderId: string;
  idempotencyKey: string;
  startMs: number;
}

export interface GeneratedBatch {
  spans: SpanRow[];
  conversations: GeneratedConversation[];
}

/** Probability per conversation of each injected fault. */
export const FAULT_RATES = {
  duplicateDelivery: 0.03,
  duplicateProcessing: 0.005,
  retry: 0.03,
  deadLetter: 0.003,
  lost: 0.003,
  ghost: 0.002,
  offload: 0.05,
  invoicing: 0.3,
} as const;

/** Average spans per conversation (measured on the generator), for sizing. */
export const SPANS_PER_CONVERSATION = 9.4;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RESOURCES = new Map<string, Record<string, string>>();
const resourceOf = (service: string) => {
  let resource = RESOURCES.get(service);
  if (!resource)
    RESOURCES.set(service, (resource = { 'service.name': service, 'service.version': '1.4.2', 'host.name': `${service}-7f9c` }));
  return resource;
};

export function* generateFlows(options: GeneratorOptions): Generator<GeneratedBatch> {
  const random = prng(options.seed);
  const hex = (length: number) => {
    let out = '';
    while (out.length < length)
      out += Math.floor(random() * 0x100000000)
        .toString(16)
        .padStart(8, '0');
    return out.slice(0, length);
  };
  const conversationsWanted = Math.max(1, Math.round(options.totalSpans / SPANS_PER_CONVERSATION));
  const spacingMs = (options.toMs - options.fromMs) / conversationsWanted;
  let produced = 0;
  let batch: GeneratedBatch = { spans: [], conversations: [] };

  for (let n = 0; n < conversationsWanted && produced < options.totalSpans; n++) {
    const generated = conversation(Math.round(options.fromMs + n * spacingMs), random, hex);
    produced += generated.spans.length;
    for (const span of generated.spans) batch.spans.push(span);
    batch.conversations.push(generated);
    if (batch.spans.length >= options.batchSpans) {
      yield batch;
      batch = { spans: [], conversations: [] };
    }
  }
  if (batch.spans.length > 0) yield batch;
}

interface SpanSpec {
  service: string;
  name: string;
  kind: SpanKind;
  atMs: number;
  durationMs: number;
  traceId: string;
  parent?: SpanRow;
  message?: { id: string; type: string; causationId: string; destination: string; idempotencyKey?: string };
  operation?: 'send' | 'process';
  attempt?: number;
  outcome?: SpanRow['outcome'];
  error?: string;
  outgoing?: string[];
  payload?: { bytes: number; ref: string };
  attributes: Record<string, string>;
}

/**
 * Timings inside a conversation are fixed (only the start varies), so every conversation of a
 * shape analyses to the same record up to ids and a time shift; the benchmark relies on that to
 * analyse one conversation per shape and derive the other records (and checks a sample).
 */
function conversation(startMs: number, random: () => number, hex: (length: number) => string): GeneratedConversation {
  const conversationId = `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  const orderId = `order-${hex(10)}`;
  const idempotencyKey = `idem-${hex(16)}`;
  const spans: SpanRow[] = [];
  const faults: string[] = [];
  const chance = (rate: number, fault?: keyof typeof FAULT_RATES) => {
    const hit = random() < rate;
    if (hit && fault) faults.push(fault);
    return hit;
  };
  const business = { 'onceflow.business_key': orderId };

  const make = (spec: SpanSpec): SpanRow => {
    const span: SpanRow = {
      traceId: spec.traceId,
      spanId: hex(16),
      parentSpanId: spec.parent?.spanId ?? '',
      service: spec.service,
      name: spec.name,
      kind: spec.kind,
      statusCode: spec.error ? 'error' : spec.outcome === 'processed' ? 'ok' : 'unset',
      statusMessage: spec.error ?? '',
      startNs: msToNs(spec.atMs),
      durationNs: Math.round(spec.durationMs * 1_000_000),
      messageId: spec.message?.id ?? '',
      conversationId,
      causationId: spec.message?.causationId ?? '',
      idempotencyKey: spec.message?.idempotencyKey ?? '',
      messageType: spec.message?.type ?? '',
      attempt: spec.attempt ?? 0,
      outcome: spec.outcome ?? '',
      payloadBytes: spec.payload?.bytes ?? 0,
      payloadOffloaded: spec.payload !== undefined,
      payloadRef: spec.payload?.ref ?? '',
      destination: spec.message?.destination ?? '',
      operation: spec.operation ?? '',
      messagingSystem: spec.message ? 'rabbitmq' : '',
      outgoingMessageIds: spec.outgoing ?? [],
      links: [],
      events: spec.error
        ? [
            {
              timeNs: msToNs(spec.atMs + spec.durationMs),
              name: 'exception',
              attributes: { 'exception.type': 'Error', 'exception.message': spec.error },
            },
          ]
        : [],
      attributes: spec.attributes,
      resourceAttributes: resourceOf(spec.service),
    };
    spans.push(span);
    return span;
  };
  const sendOf = (
    parent: SpanRow,
    service: string,
    atMs: number,
    message: NonNullable<SpanSpec['message']>,
    payload?: SpanSpec['payload'],
  ) =>
    make({
      service,
      name: `${message.destination} publish`,
      kind: 'producer',
      atMs,
      durationMs: 2,
      traceId: parent.traceId,
      parent,
      message,
      operation: 'send',
      payload,
      attributes: { ...business, 'messaging.rabbitmq.destination.routing_key': message.destination },
    });
  const attemptOf = (
    sent: SpanRow,
    service: string,
    atMs: number,
    message: NonNullable<SpanSpec['message']>,
    extra: {
      attempt?: number;
      outcome?: SpanRow['outcome'];
      error?: string;
      outgoing?: string[];
      newTrace?: boolean;
      durationMs?: number;
    } = {},
  ) =>
    make({
      service,
      name: `${message.destination} process`,
      kind: 'consumer',
      atMs,
      durationMs: extra.durationMs ?? 12,
      traceId: extra.newTrace ? hex(32) : sent.traceId,
      parent: extra.newTrace ? undefined : sent,
      message,
      operation: 'process',
      attempt: extra.attempt ?? 1,
      outcome: extra.outcome ?? 'processed',
      error: extra.error,
      outgoing: extra.outgoing,
      attributes: extra.newTrace || (extra.attempt ?? 1) > 1 ? { ...business, 'messaging.rabbitmq.redelivered': 'true' } : business,
    });

  const m1 = { id: `${conversationId}-1`, type: 'SubmitOrder', causationId: '', destination: 'orders', idempotencyKey };
  const m2 = { id: `${conversationId}-2`, type: 'BillCustomer', causationId: m1.id, destination: 'billing' };
  const m3 = { id: `${conversationId}-3`, type: 'OrderBilled', causationId: m2.id, destination: 'order-events' };

  let t = startMs;
  const request = make({
    service: 'shop-api',
    name: 'POST /orders',
    kind: 'server',
    atMs: t,
    durationMs: 35,
    traceId: hex(32),
    attributes: {
      ...business,
      'http.request.method': 'POST',
      'http.route': '/orders',
      'http.response.status_code': '202',
      'onceflow.idempotency_key': idempotencyKey,
    },
  });
  const submit = sendOf(
    request,
    'shop-api',
    (t += 5),
    m1,
    chance(FAULT_RATES.offload, 'offload') ? { bytes: 2_500_000, ref: `blob://orders/${conversationId}` } : undefined,
  );
  const orders = attemptOf(submit, 'orders', (t += 20), m1, { outgoing: [m2.id] });
  const bill = sendOf(orders, 'orders', (t += 15), m2);

  // billing: maybe a failed attempt first (retry), maybe one that failed after publishing (ghost).
  t += 25;
  let attemptNo = 1;
  const ghost = chance(FAULT_RATES.ghost, 'ghost');
  if (ghost || chance(FAULT_RATES.retry, 'retry')) {
    const failed = attemptOf(bill, 'billing', t, m2, {
      attempt: attemptNo++,
      outcome: 'retry_scheduled',
      error: 'payment provider timed out',
      outgoing: ghost ? [m3.id] : [],
    });
    if (ghost) sendOf(failed, 'billing', t + 5, m3);
    t += 1500;
  }
  const billing = attemptOf(bill, 'billing', t, m2, { attempt: attemptNo, outgoing: [m3.id], durationMs: 160 });
  make({
    service: 'billing',
    name: 'POST',
    kind: 'client',
    atMs: t + 10,
    durationMs: 110,
    traceId: billing.traceId,
    parent: billing,
    attributes: {
      'http.request.method': 'POST',
      'url.full': 'https://payments.example/charges',
      'server.address': 'payments.example',
      'http.response.status_code': '201',
      'onceflow.idempotency_key': `charge-${orderId}`,
    },
  });
  const billed = ghost ? billing : sendOf(billing, 'billing', (t += 150), m3);
  if (ghost) t += 150;

  // OrderBilled fans out; lost: nobody ever consumes it.
  if (!chance(FAULT_RATES.lost, 'lost')) {
    t += 20;
    if (chance(FAULT_RATES.deadLetter, 'deadLetter')) {
      attemptOf(billed, 'shipping', t, m3, { attempt: 1, outcome: 'retry_scheduled', error: 'address rejected' });
      attemptOf(billed, 'shipping', t + 1000, m3, { attempt: 2, outcome: 'retry_scheduled', error: 'address rejected' });
      attemptOf(billed, 'shipping', t + 3000, m3, { attempt: 3, outcome: 'dead_lettered', error: 'address rejected' });
    } else {
      attemptOf(billed, 'shipping', t, m3);
    }
    attemptOf(billed, 'marketing', t + 3, m3);
    if (chance(FAULT_RATES.duplicateDelivery, 'duplicateDelivery'))
      attemptOf(billed, 'marketing', t + 500, m3, { attempt: 1, outcome: 'duplicate', newTrace: true, durationMs: 1 });
    if (chance(FAULT_RATES.duplicateProcessing, 'duplicateProcessing'))
      attemptOf(billed, 'marketing', t + 800, m3, { attempt: 2, outcome: 'processed', newTrace: true });
    if (chance(FAULT_RATES.invoicing, 'invoicing')) attemptOf(billed, 'invoicing', t + 8, m3);
  }
  return { spans, shape: faults.join('+'), conversationId, orderId, idempotencyKey, startMs };
}
