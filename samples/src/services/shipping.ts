/**
 * `shipping`: OrderBilled → OrderShipped (and PrintLabel, when the label printer runs); InvoiceIssued → the invoice goes into the parcel,
 * read back from the blob store when it was offloaded (claim check).
 */
import { createHash } from 'node:crypto';
import { recordPayloadFetch } from '@onceflow/instrumentation';
import { BlobMissingError, type BlobStore } from '../infra/blob-store.js';
import { type Handler, type HandlerContext, UnrecoverableError } from '../infra/endpoint.js';
import type { InvoiceIssued, OrderBilled, OrderShipped } from '../messages.js';
import { LABEL_PRINTER, type PrintLabel } from './extra-endpoints.js';

export function shippingHandlers(blobs: BlobStore, options: { printLabels?: boolean } = {}): Record<string, Handler> {
  return {
    async OrderBilled(ctx: HandlerContext<OrderBilled>) {
      await ctx.tx.query('INSERT INTO shipments (order_id) VALUES ($1) ON CONFLICT DO NOTHING', [ctx.body.orderId]);
      ctx.publish('OrderShipped', { orderId: ctx.body.orderId } satisfies OrderShipped);
      if (options.printLabels) ctx.send(LABEL_PRINTER, 'PrintLabel', { orderId: ctx.body.orderId } satisfies PrintLabel);
    },
    async InvoiceIssued(ctx: HandlerContext<InvoiceIssued>) {
      const invoice = ctx.body;
      const document = await readInvoice(blobs, invoice);
      await ctx.tx.query('INSERT INTO parcel_invoices (order_id, bytes, sha256) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        invoice.orderId,
        document.length,
        createHash('sha256').update(document).digest('hex'),
      ]);
    },
  };
}

/** The invoice document, inline or fetched by its reference; checked against its digest. */
export async function readInvoice(blobs: BlobStore, invoice: InvoiceIssued): Promise<Buffer> {
  let document: Buffer;
  if (invoice.ref) {
    document = await blobs.get(invoice.ref).catch((error: unknown) => {
      // No retry brings a deleted blob back.
      throw error instanceof BlobMissingError ? new UnrecoverableError(error.message) : error;
    });
    recordPayloadFetch({ ref: invoice.ref, bytes: document.length });
  } else {
    document = Buffer.from(invoice.inline ?? '', 'utf8');
  }
  const digest = createHash('sha256').update(document).digest('hex');
  if (digest !== invoice.sha256) throw new Error(`invoice of ${invoice.orderId} does not match its digest`);
  return document;
}
