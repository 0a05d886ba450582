/**
 * `invoicing`: OrderBilled → an invoice document. Large documents go to the blob store keyed
 * by the outgoing message's id and the message carries only the reference (claim check);
 * documents below the threshold travel inline.
 */
import { createHash } from 'node:crypto';
import { currentConversationId, deterministicMessageId, recordPayloadOffload } from '@onceflow/instrumentation';
import { decide, draw, type FaultPlan } from '../faults/faults.js';
import type { GroundTruth } from '../faults/ground-truth.js';
import type { BlobStore } from '../infra/blob-store.js';
import type { Handler, HandlerContext } from '../infra/endpoint.js';
import { receiversOf, type InvoiceIssued, type OrderBilled } from '../messages.js';

export interface InvoiceOptions {
  /** Bodies at or above this size are offloaded. */
  inlineThresholdBytes: number;
  /** Size range of a large invoice (one with many line items and a scanned signature). */
  largeMinBytes: number;
  largeMaxBytes: number;
}

export const DEFAULT_INVOICE_OPTIONS: InvoiceOptions = {
  inlineThresholdBytes: 64 * 1024,
  largeMinBytes: 100 * 1024,
  largeMaxBytes: 5 * 1024 * 1024,
};

export function invoicingHandlers(blobs: BlobStore, options: InvoiceOptions, plan: FaultPlan, truth: GroundTruth): Record<string, Handler> {
  return {
    async OrderBilled(ctx: HandlerContext<OrderBilled>) {
      const order = ctx.body;
      const messageId = deterministicMessageId(ctx.delivery.messageId, ctx.endpoint, 'InvoiceIssued');
      const large = decide(plan, ctx.faults.largePayload, 'large', ctx.endpoint, ctx.delivery.messageId);
      const size = large
        ? Math.floor(options.largeMinBytes + draw(plan.seed, 'size', messageId) * (options.largeMaxBytes - options.largeMinBytes))
        : 0;
      const document = renderInvoice(order, size);
      const sha256 = createHash('sha256').update(document).digest('hex');
      const invoice: InvoiceIssued = { orderId: order.orderId, bytes: document.length, sha256 };
      let payload: { bytes: number; ref?: string; offloaded?: boolean } | undefined;
      if (document.length >= options.inlineThresholdBytes) {
        // Stored before the message exists, under this attempt's own key: an attempt that does
        // not commit deletes it; one that crashed first leaves it to the blob collector, which
        // deletes it in this conversation (stored with the blob).
        const ref = await blobs.put(`${messageId}-a${ctx.delivery.attempt}`, document, { conversationId: currentConversationId() });
        const leavesBlob = decide(plan, ctx.faults.abortLeavesBlob, 'abort-leaves-blob', ctx.endpoint, ctx.delivery.messageId);
        if (!leavesBlob) ctx.onAbort(() => blobs.delete(ref));
        invoice.ref = ref;
        recordPayloadOffload({ ref, bytes: document.length });
        payload = { bytes: document.length, ref, offloaded: true };
        truth.record({
          kind: 'offload',
          messageId,
          service: ctx.endpoint,
          messageType: 'InvoiceIssued',
          detail: `${document.length} bytes`,
        });
        if (
          ctx.delivery.attempt === 1 &&
          decide(plan, ctx.faults.abortAfterOffload, 'abort-after-offload', ctx.endpoint, ctx.delivery.messageId)
        ) {
          truth.record({
            kind: 'retry',
            messageId: ctx.delivery.messageId,
            service: ctx.endpoint,
            messageType: ctx.delivery.messageType,
            detail: 'aborted after storing its blob',
          });
          if (leavesBlob)
            truth.record({
              kind: 'orphaned-payload',
              messageId: ctx.delivery.messageId,
              service: ctx.endpoint,
              messageType: ctx.delivery.messageType,
              detail: `${ref} left behind (BUG: no delete on abort)`,
            });
          throw new Error('invoicing aborted after storing the invoice blob (injected)');
        }
        if (decide(plan, ctx.faults.missingBlob, 'missing-blob', ctx.endpoint, ctx.delivery.messageId)) {
          // An over-eager clean-up: the blob goes once the attempt has committed; the reader gets a 404.
          for (const reader of receiversOf('InvoiceIssued'))
            truth.record({
              kind: 'missing-payload',
              messageId,
              service: reader,
              messageType: 'InvoiceIssued',
              detail: 'its blob deleted right after the commit',
            });
          ctx.afterCommit(() => blobs.delete(ref));
        }
      } else {
        invoice.inline = document.toString('utf8');
      }
      await ctx.tx.query(
        'INSERT INTO invoices (order_id, message_id, blob_ref, bytes, sha256) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [order.orderId, messageId, invoice.ref ?? null, document.length, sha256],
      );
      const sent = ctx.publish('InvoiceIssued', invoice, { payload });
      if (sent !== messageId) throw new Error('invoice message id is not the one its blob is keyed by');
    },
  };
}

/** A plain-text invoice, padded with line items up to `minBytes`. */
export function renderInvoice(order: OrderBilled, minBytes: number): Buffer {
  const head = `INVOICE for order ${order.orderId}\ncustomer ${order.customerId}\ncharge ${order.chargeId}\ntotal ${(order.amountCents / 100).toFixed(2)}\n`;
  const parts = [head];
  let length = head.length;
  for (let line = 1; length < minBytes; line++) {
    const item = `line ${line}: item ${order.orderId.slice(0, 8)}-${line} qty 1 ........................................ 0.00\n`;
    parts.push(item);
    length += item.length;
  }
  return Buffer.from(parts.join(''), 'utf8');
}
