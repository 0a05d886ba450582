/** Small builders for view-model tests: `makeMessage(overrides)`, `makeFlow(messages)`. */
import type { Delivery, Flow, FlowMessage, Ledger, Send, TrendBucket, Trends } from '../types.js';

export function makeSend(overrides: Partial<Send> = {}): Send {
  return {
    service: 'orders',
    destination: 'orders.placed',
    startMs: 1000,
    traceId: 't1',
    spanId: `send-${Math.random().toString(16).slice(2)}`,
    attemptSpanId: '',
    fromFailedAttempt: false,
    outboxDispatch: false,
    bodyDigest: '',
    ...overrides,
  };
}

export function makeDelivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    service: 'billing',
    destination: 'orders.placed',
    endpoint: 'billing/orders.placed',
    attempt: 1,
    outcome: 'processed',
    startMs: 1010,
    durationMs: 5,
    traceId: 't1',
    spanId: `att-${Math.random().toString(16).slice(2)}`,
    error: '',
    retryDelayMs: null,
    redelivered: false,
    committedAtMs: null,
    ...overrides,
  };
}

export function makeMessage(overrides: Partial<FlowMessage> & Pick<FlowMessage, 'messageId'>): FlowMessage {
  return {
    messageType: 'OrderPlaced',
    causationId: '',
    idempotencyKey: '',
    businessKey: '',
    producer: 'orders',
    destination: 'orders.placed',
    payloadBytes: 120,
    payloadOffloaded: false,
    payloadRef: '',
    payloadFetched: false,
    sentAtMs: 1000,
    sends: [makeSend()],
    deliveries: [makeDelivery()],
    status: 'processed',
    flags: [],
    ...overrides,
  };
}

/** A ledger with every invariant held, except those overridden. */
export function makeLedger(overrides: Partial<Ledger> = {}): Ledger {
  const held = { verdict: 'held' as const, evidence: [], reason: '' };
  return { noDuplicateProcessing: held, noGhost: held, noLost: held, consistentOutput: held, ...overrides };
}

/** A flow whose edges follow each message's causation id. */
export function makeFlow(messages: FlowMessage[], overrides: Partial<Flow> = {}): Flow {
  return {
    conversationId: 'conv-1',
    startMs: 1000,
    endMs: 2000,
    durationMs: 1000,
    complete: true,
    state: 'complete',
    services: ['orders', 'billing'],
    messageTypes: [...new Set(messages.map((m) => m.messageType))],
    rootType: messages[0]?.messageType ?? '',
    messageCount: messages.length,
    spanCount: messages.length * 2,
    idempotencyKeys: [],
    businessKeys: [],
    anomalyCounts: {},
    worstSeverity: null,
    ledger: makeLedger(),
    verdict: 'held',
    messages,
    httpCalls: [],
    edges: messages.filter((m) => m.causationId).map((m) => ({ from: m.causationId, to: m.messageId, via: 'message' as const })),
    anomalies: [],
    page: { offset: 0, limit: messages.length, total: messages.length },
    truncated: false,
    ...overrides,
  };
}

export function makeBucket(overrides: Partial<TrendBucket> & Pick<TrendBucket, 'timeMs'>): TrendBucket {
  return {
    group: '',
    sent: 0,
    processed: 0,
    duplicateDeliveries: 0,
    duplicateProcessings: 0,
    retries: 0,
    failures: 0,
    deadLetters: 0,
    offloads: 0,
    offloadedBytes: 0,
    processingP50Ms: null,
    processingP95Ms: null,
    processingP99Ms: null,
    queueLatencyP50Ms: null,
    queueLatencyP95Ms: null,
    queueLatencyP99Ms: null,
    outboxDispatchP50Ms: null,
    outboxDispatchP99Ms: null,
    flowsCompleted: 0,
    flowCompletionP50Ms: null,
    flowCompletionP95Ms: null,
    incompleteFlows: 0,
    flowsHeld: 0,
    flowsViolated: 0,
    flowsUnknown: 0,
    ghostMessages: 0,
    lostMessages: 0,
    inconsistentOutputs: 0,
    prematurePublishes: 0,
    ...overrides,
  };
}

export function makeTrends(buckets: TrendBucket[], overrides: Partial<Trends> = {}): Trends {
  return {
    fromMs: 0,
    toMs: 300_000,
    stepMs: 60_000,
    by: 'service',
    groups: [...new Set(buckets.map((b) => b.group).filter(Boolean))],
    buckets,
    ...overrides,
  };
}
