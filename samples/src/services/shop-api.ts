/**
 * `shop-api`: the HTTP edge where the user's intent becomes a message (the sync/async
 * boundary). The request is recorded with its SubmitOrder in the outbox, in one transaction;
 * the message id and the order id are minted from the Idempotency-Key, so a repeated request
 * yields the same order and the same message, and never a second order.
 */
import { deterministicMessageId, identityHeaders, outgoingIdentity } from '@onceflow/instrumentation';
import { HTTP_HEADER_IDEMPOTENCY_KEY } from '@onceflow/instrumentation/semconv';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { Database } from '../infra/database.js';
import type { Endpoint } from '../infra/endpoint.js';
import type { SubmitOrder } from '../messages.js';

export const SHOP_API = 'shop-api';

const OrderRequest = z.object({
  customerId: z.string().min(1).max(100),
  lines: z
    .array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive(), priceCents: z.number().int().nonnegative() }))
    .min(1),
});

export interface PlacedOrder {
  orderId: string;
  messageId: string;
  /** True when this Idempotency-Key was seen before. */
  repeated: boolean;
}

export function createShopApp(db: Database, outbox: Endpoint) {
  const app = express();
  app.use(express.json());

  app.post('/orders', async (req: Request, res: Response) => {
    const key = req.get(HTTP_HEADER_IDEMPOTENCY_KEY);
    if (!key || key.length > 200) return void res.status(400).json({ error: 'an Idempotency-Key header (≤ 200 chars) is required' });
    const parsed = OrderRequest.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.message });
    const orderId = deterministicMessageId(key, SHOP_API, 'order');
    const messageId = deterministicMessageId(key, SHOP_API, 'SubmitOrder');
    const order: SubmitOrder = {
      orderId,
      customerId: parsed.data.customerId,
      amountCents: parsed.data.lines.reduce((sum, l) => sum + l.quantity * l.priceCents, 0),
      lines: parsed.data.lines,
    };
    const repeated = await db.transaction(async (tx) => {
      const inserted = await tx.query(
        'INSERT INTO shop_requests (idempotency_key, order_id, message_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING order_id',
        [key, orderId, messageId],
      );
      if (inserted.rows.length === 0) return true;
      const headers = identityHeaders(outgoingIdentity({ messageType: 'SubmitOrder', messageId, idempotencyKey: key }));
      await tx.query(
        `INSERT INTO outbox (endpoint, message_id, incoming_id, kind, destination, message_type, headers, body)
         VALUES ($1, $2, $3, 'send', 'orders', 'SubmitOrder', $4, $5)`,
        [SHOP_API, messageId, key, JSON.stringify(headers), JSON.stringify(order)],
      );
      return false;
    });
    // After the commit; on a repeat this finishes a dispatch an earlier request may not have done.
    await outbox.dispatchPending(key);
    res.status(202).json({ orderId, messageId, repeated } satisfies PlacedOrder);
  });

  app.get('/orders/:orderId', async (req: Request<{ orderId: string }>, res: Response) => {
    const { rows } = await db.query('SELECT order_id, customer_id, amount_cents, status FROM orders WHERE order_id = $1', [
      req.params.orderId,
    ]);
    if (rows.length === 0) return void res.status(404).json({ error: 'no such order (yet)' });
    res.json(rows[0]);
  });
  return app;
}
