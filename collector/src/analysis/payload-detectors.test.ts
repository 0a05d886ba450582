/**
 * The claim-check detectors, drawn as invoicing storing an invoice in the blob store and
 * sending its reference, and shipping reading it back:
 *
 *   billing ── OrderBilled ──> invoicing #1 ── blob put R, InvoiceIssued (ref R) ──> shipping #1 ── blob get R
 *
 * Times are offsets in ms from T0, judged long after the quiet period.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ATTR_COMMITTED_AT_MS,
  ATTR_PAYLOAD_BYTES,
  ATTR_PAYLOAD_REF,
  EVENT_PAYLOAD_OFFLOAD,
  type Outcome,
} from '@onceflow/instrumentation/semconv';
import type { SpanRow } from '../model/span.js';
import { attempt, blobCall, resetSpanIds, send } from '../../test/span-builders.js';
import type { ExportLoss } from './export-losses.js';
import { reconstructFlow } from './reconstruct-flow.js';

const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const LATER = T0 + 10 * 60_000;
const REF = 'blob://invoices/invoice-1-a1';

beforeEach(() => resetSpanIds());

function anomaliesOf(kind: string, spans: SpanRow[], now = LATER) {
  return reconstructFlow(spans, { now, quietPeriodMs: 60_000 }).anomalies.filter((a) => a.kind === kind);
}

/** billing's OrderBilled at T0, which invoicing consumes. */
const orderBilled = () =>
  send({ service: 'billing', messageId: 'billed-1', messageType: 'OrderBilled', destination: 'order-events', atMs: T0 });

/** invoicing's committed attempt: stores the invoice under REF and sends InvoiceIssued carrying it. */
function invoiced() {
  const billed = orderBilled();
  const invoicing = attempt({ service: 'invoicing', parent: billed, atMs: T0 + 10, durationMs: 200, outcome: 'processed' });
  const put = blobCall({ parent: invoicing, operation: 'put', ref: REF, bytes: 200_000, atMs: T0 + 20 });
  const invoice = send({
    parent: invoicing,
    messageId: 'invoice-1',
    messageType: 'InvoiceIssued',
    destination: 'order-events',
    payload: { bytes: 200_000, ref: REF },
    atMs: T0 + 150,
  });
  return { spans: [billed, invoicing, put, invoice], invoicing, invoice };
}

/** shipping's attempts at InvoiceIssued, 1 s apart, each reading REF (`missing`: the read found nothing). */
function shipping(invoice: SpanRow, tries: { outcome: Outcome; missing: boolean }[]): SpanRow[] {
  return tries.flatMap(({ outcome, missing }, i) => {
    const consume = attempt({
      service: 'shipping',
      parent: invoice,
      atMs: T0 + 300 + i * 1_000,
      durationMs: 50,
      attempt: i + 1,
      outcome,
      error: missing ? `blob ${REF} is missing (404)` : undefined,
    });
    return [consume, blobCall({ parent: consume, operation: 'get', ref: REF, missing, atMs: T0 + 310 + i * 1_000 })];
  });
}

describe('missing-payload', () => {
  it('is the consumer that could not read its message: ref, the delete before it, and the dead letter after', () => {
    const { spans, invoicing, invoice } = invoiced();
    const removal = blobCall({ parent: invoicing, operation: 'delete', ref: REF, atMs: T0 + 180 });
    const found = anomaliesOf('missing-payload', [...spans, removal, ...shipping(invoice, [{ outcome: 'dead_lettered', missing: true }])]);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ messageId: 'invoice-1', service: 'shipping', severity: 'error', timeMs: T0 + 310 });
    expect(found[0].detail).toContain(`payload ${REF} was missing (404) on attempt 1`);
    expect(found[0].detail).toContain('invoicing deleted it 130 ms before');
    expect(found[0].detail).toContain('dead-lettered after attempt 1');
  });

  it('says so when a later attempt read it and committed (the blob came back)', () => {
    const { spans, invoice } = invoiced();
    const tries = [
      { outcome: 'retry_scheduled' as const, missing: true },
      { outcome: 'processed' as const, missing: false },
    ];
    const found = anomaliesOf('missing-payload', [...spans, ...shipping(invoice, tries)]);
    expect(found).toHaveLength(1);
    expect(found[0].detail).toContain('a later attempt (2) then committed');
  });

  it('is not reported when every read found the blob', () => {
    const { spans, invoice } = invoiced();
    expect(anomaliesOf('missing-payload', [...spans, ...shipping(invoice, [{ outcome: 'processed', missing: false }])])).toEqual([]);
  });

  it('is not reported for a read outside any attempt (no message could not be read)', () => {
    const { spans } = invoiced();
    const sweep = blobCall({ service: 'shipping', operation: 'get', ref: REF, missing: true, atMs: T0 + 400 });
    expect(anomaliesOf('missing-payload', [...spans, sweep])).toEqual([]);
  });
});

/**
 *   billing ── OrderBilled ──> invoicing #1 retry_scheduled: blob put R1 (`deleted`: then blob delete R1)
 *                          │     (`ghost`: InvoiceIssued ghost (ref R1) ──> shipping #1 processed: blob get R1)
 *                          └─> invoicing #2 processed: blob put R2, InvoiceIssued (ref `sentRef`)
 */
function abortedThenRetried(options: { deleted?: boolean; sentRef?: string; putFailed?: boolean; ghost?: boolean } = {}): SpanRow[] {
  const r1 = 'blob://invoices/invoice-1-a1';
  const r2 = 'blob://invoices/invoice-1-a2';
  const billed = orderBilled();
  const first = attempt({
    service: 'invoicing',
    parent: billed,
    atMs: T0 + 10,
    durationMs: 100,
    attempt: 1,
    outcome: 'retry_scheduled',
    retryDelayMs: 0,
    error: 'aborted after storing the invoice blob',
  });
  const put = blobCall({ parent: first, operation: 'put', ref: r1, bytes: 200_000, atMs: T0 + 20 });
  if (options.putFailed) Object.assign(put, { statusCode: 'error', statusMessage: 'disk full' });
  const spans = [billed, first, put];
  if (options.deleted) spans.push(blobCall({ parent: first, operation: 'delete', ref: r1, atMs: T0 + 90 }));
  if (options.ghost) {
    const ghost = send({
      parent: first,
      messageId: 'invoice-ghost',
      messageType: 'InvoiceIssued',
      payload: { bytes: 200_000, ref: r1 },
      atMs: T0 + 50,
    });
    const read = attempt({ service: 'shipping', parent: ghost, atMs: T0 + 400, durationMs: 50, outcome: 'processed' });
    spans.push(ghost, read, blobCall({ parent: read, operation: 'get', ref: r1, atMs: T0 + 410 }));
  }
  const retry = attempt({ service: 'invoicing', parent: billed, atMs: T0 + 200, durationMs: 100, attempt: 2, outcome: 'processed' });
  const ref = options.sentRef ?? r2;
  spans.push(
    retry,
    blobCall({ parent: retry, operation: 'put', ref, bytes: 200_000, atMs: T0 + 210 }),
    send({ parent: retry, messageId: 'invoice-1', messageType: 'InvoiceIssued', payload: { bytes: 200_000, ref }, atMs: T0 + 280 }),
  );
  return spans;
}

describe('orphaned-payload', () => {
  it("is the blob an attempt that did not commit stored and never deleted, about that attempt's message", () => {
    const found = anomaliesOf('orphaned-payload', abortedThenRetried());
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ messageId: 'billed-1', service: 'invoicing', severity: 'warning', timeMs: T0 + 20 });
    expect(found[0].detail).toContain('blob://invoices/invoice-1-a1 (200.0 KB) stored by invoicing in OrderBilled attempt 1');
    expect(found[0].detail).toContain('did not commit (retry_scheduled)');
    expect(found[0].detail).toContain('delete it when the attempt aborts');
  });

  it.each([
    { name: 'the aborted attempt deleted its blob', spans: () => abortedThenRetried({ deleted: true }) },
    {
      name: 'a committed attempt sent a message referring to it',
      spans: () => abortedThenRetried({ sentRef: 'blob://invoices/invoice-1-a1' }),
    },
    { name: 'the put failed (nothing known to be stored)', spans: () => abortedThenRetried({ putFailed: true }) },
  ])('$name: not reported', ({ spans }) => {
    expect(anomaliesOf('orphaned-payload', spans())).toEqual([]);
  });

  it('is not judged while the flow is active (the delete may still come)', () => {
    expect(anomaliesOf('orphaned-payload', abortedThenRetried(), T0 + 5_000)).toEqual([]);
  });

  // The flow's last span ends at T0 + 300 (T0 + 450 with the ghost): quiet deadline a minute later.
  it.each([
    {
      name: 'invoicing (its writer) during the aborted attempt: its delete on abort may be among them',
      service: 'invoicing',
      atMs: T0 + 60,
      reported: 0,
    },
    {
      name: 'invoicing after the attempt, before the quiet deadline: a later clean-up may be among them',
      service: 'invoicing',
      atMs: T0 + 5_000,
      reported: 0,
    },
    {
      name: "invoicing after the quiet deadline (a busy stream's spans still in flight): reported",
      service: 'invoicing',
      atMs: T0 + 120_000,
      reported: 1,
    },
    { name: 'invoicing before the put: reported', service: 'invoicing', atMs: T0 + 1, reported: 1 },
    { name: 'billing (neither wrote it nor reads a message referring to it): reported', service: 'billing', atMs: T0 + 5_000, reported: 1 },
    { name: 'shipping, when no message of the flow refers to the blob: reported', service: 'shipping', atMs: T0 + 5_000, reported: 1 },
    {
      name: 'shipping, which consumed a message referring to the blob: its delete after reading may be among them',
      service: 'shipping',
      atMs: T0 + 5_000,
      ghost: true,
      reported: 0,
    },
    {
      name: 'shipping, which consumed a message referring to the blob, before the put: reported',
      service: 'shipping',
      atMs: T0 + 1,
      ghost: true,
      reported: 1,
    },
  ])('$service lost spans at export, $name', ({ service, atMs, ghost, reported }) => {
    const loss = { service, stream: 's1', fromMs: atMs, toMs: atMs + 10, missing: 1 };
    const flow = reconstructFlow(abortedThenRetried({ ghost }), { now: LATER, quietPeriodMs: 60_000, exportLosses: [loss] });
    expect(flow.anomalies.filter((a) => a.kind === 'orphaned-payload')).toHaveLength(reported);
  });

  it('is not reported while spans are missing from the flow (the delete may be among them)', () => {
    const spans = abortedThenRetried();
    const orphan = blobCall({
      service: 'invoicing',
      operation: 'delete',
      ref: 'blob://invoices/x',
      atMs: T0 + 95,
      traceId: spans[0].traceId,
    });
    orphan.parentSpanId = 'ffffffffffffffff';
    expect(anomaliesOf('orphaned-payload', [...spans, orphan])).toEqual([]);
  });
});

/**
 * A commit without dispatch: the blob was written for a message that never leaves the outbox.
 *
 *   billing ── OrderBilled ──> invoicing #1 processed (committed at T0 + 150, outgoing invoice-1):
 *                                blob put R, offload of R recorded on the attempt
 *                                (`dispatched`: InvoiceIssued invoice-1 (ref R) sent; otherwise never)
 */
function committedNeverSent(options: { dispatched?: boolean; offloadRecorded?: boolean } = {}): SpanRow[] {
  const billed = orderBilled();
  const invoicing = attempt({
    service: 'invoicing',
    parent: billed,
    atMs: T0 + 10,
    durationMs: 200,
    outcome: 'processed',
    outgoing: ['invoice-1'],
    attributes: { [ATTR_COMMITTED_AT_MS]: String(T0 + 150) },
  });
  if (options.offloadRecorded ?? true) {
    invoicing.events.push({
      timeNs: BigInt(T0 + 30) * 1_000_000n,
      name: EVENT_PAYLOAD_OFFLOAD,
      attributes: { [ATTR_PAYLOAD_REF]: REF, [ATTR_PAYLOAD_BYTES]: '200000' },
    });
  }
  const spans = [billed, invoicing, blobCall({ parent: invoicing, operation: 'put', ref: REF, bytes: 200_000, atMs: T0 + 20 })];
  if (options.dispatched) {
    spans.push(
      send({
        parent: invoicing,
        messageId: 'invoice-1',
        messageType: 'InvoiceIssued',
        payload: { bytes: 200_000, ref: REF },
        atMs: T0 + 180,
      }),
    );
  }
  return spans;
}

describe('orphaned-payload of a message committed but never sent', () => {
  /** Flagged anomalies of `kind`, invoicing numbering its spans (and exported up to now) unless `unnumbered`. */
  const judged = (kind: string, spans: SpanRow[], options: { losses?: ExportLoss[]; unnumbered?: boolean } = {}) =>
    reconstructFlow(spans, {
      now: LATER,
      quietPeriodMs: 60_000,
      exportLosses: options.losses ?? [],
      exportedUntil: new Map(options.unnumbered ? [] : [['invoicing', LATER]]),
    }).anomalies.filter((a) => a.kind === kind);

  it("is the blob written for a message stuck in its writer's outbox, about the writer's message", () => {
    const spans = committedNeverSent();
    expect(judged('stuck-outbox', spans)).toHaveLength(1);
    const found = judged('orphaned-payload', spans);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ messageId: 'billed-1', service: 'invoicing', severity: 'warning', timeMs: T0 + 20 });
    expect(found[0].detail).toContain(`${REF} (200.0 KB) stored by invoicing in OrderBilled attempt 1, for message invoice-1`);
    expect(found[0].detail).toContain('committed to its outbox but never dispatched (stuck outbox)');
  });

  it.each([
    { name: 'the message was dispatched carrying it', spans: () => committedNeverSent({ dispatched: true }) },
    {
      name: 'the attempt recorded no offload of it (a blob not known to be a message body)',
      spans: () => committedNeverSent({ offloadRecorded: false }),
    },
    {
      name: 'the blob was deleted',
      spans: () => [...committedNeverSent(), blobCall({ service: 'invoicing', operation: 'delete', ref: REF, atMs: T0 + 400 })],
    },
  ])('$name: not reported', ({ spans }) => {
    expect(judged('orphaned-payload', spans())).toEqual([]);
  });

  it('is not reported when invoicing numbers no spans (a dispatch lost at export would leave no trace: not judged stuck)', () => {
    expect(judged('orphaned-payload', committedNeverSent(), { unnumbered: true })).toEqual([]);
  });

  it.each([
    { name: 'by invoicing after the commit (its dispatch or a delete may be among them): not reported', service: 'invoicing', reported: 0 },
    { name: 'by billing (neither wrote the blob nor dispatches the message): reported', service: 'billing', reported: 1 },
  ])('spans lost at export $name', ({ service, reported }) => {
    const loss = { service, stream: 's1', fromMs: T0 + 5_000, toMs: T0 + 5_010, missing: 1 };
    expect(judged('orphaned-payload', committedNeverSent(), { losses: [loss] })).toHaveLength(reported);
  });
});
