/**
 * `shop-api`: the HTTP edge where the user's intent becomes a message (the sync/async
 * boundary). The request is recorded with its SubmitOrder in the outbox, in one transaction;
 * the message id and the order id are minted from the client and its Idempotency-Key, so a
 * repeated request yields the same order and the same message, and never a second order. Keys
 * are scoped per client (`X-Client-Id`), and a key reused with a different body is refused
 * with 422, as payment APIs do, instead of silently answering with the first order.
 */
import { createHash } from 'node:crypto';
import { deterministicMessageId, identityHeaders, outgoingIdentity } from '@onceflow/instrumentation';
import { HTTP_HEADER_IDEMPOTENCY_KEY } from '@onceflow/instrumentation/semconv';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { Database } from '../infra/database.js';
import type { Endpoint } from '../infra/endpoint.js';
import type { SubmitOrder } from '../messages.js';

export const SHOP_API = 'shop-api';
/** Who is calling: Idempotency-Keys are unique per client only. */
export const CLIENT_ID_HEADER = 'x-client-id';

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
    const client = req.get(CLIENT_ID_HEADER);
    if (!client || client.length > 100)
      return void res.status(400).json({ error: `an ${CLIENT_ID_HEADER} header (≤ 100 chars) is required` });
    const parsed = OrderRequest.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.message });
    const scopedKey = `${client}/${key}`;
    const orderId = deterministicMessageId(scopedKey, SHOP_API, 'order');
    const messageId = deterministicMessageId(scopedKey, SHOP_API, 'SubmitOrder');
    const digest = createHash('sha256').update(JSON.stringify(parsed.data)).digest('hex');
    const order: SubmitOrder = {
      orderId,
      customerId: parsed.data.customerId,
      amountCents: parsed.data.lines.reduce((sum, l) => sum + l.quantity * l.priceCents, 0),
      lines: parsed.data.lines,
    };
    const outcome = await db.transaction(async (tx): Promise<'new' | 'repeated' | 'conflict'> => {
      const inserted = await tx.query(
        `INSERT INTO shop_client_requests (client_id, idempotency_key, request_sha256, order_id, message_id)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING order_id`,
        [client, key, digest, orderId, messageId],
      );
      if (inserted.rows.length === 0) {
        const { rows } = await tx.query<{ request_sha256: string }>(
          'SELECT request_sha256 FROM shop_client_requests WHERE client_id = $1 AND idempotency_key = $2',
          [client, key],
        );
        return rows[0]?.request_sha256 === digest ? 'repeated' : 'conflict';
      }
      const headers = identityHeaders(outgoingIdentity({ messageType: 'SubmitOrder', messageId, idempotencyKey: key }));
      await tx.query(
        `INSERT INTO outbox (endpoint, message_id, incoming_id, kind, destination, message_type, headers, body)
         VALUES ($1, $2, $3, 'send', 'orders', 'SubmitOrder', $4, $5)`,
        [SHOP_API, messageId, scopedKey, JSON.stringify(headers), JSON.stringify(order)],
      );
      return 'new';
    });
    if (outcome === 'conflict') {
      return void res.status(422).json({ error: 'this Idempotency-Key was already used with a different request body' });
    }
    // After the commit; on a repeat this finishes a dispatch an earlier request may not have done.
    await outbox.dispatchAfterCommit(scopedKey);
    res.status(202).json({ orderId, messageId, repeated: outcome === 'repeated' } satisfies PlacedOrder);
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
