/**
 * `orders`: accepts SubmitOrder, announces it and asks billing to charge; tracks the order's
 * status. Every message it applies is appended to the order's history (`order_events`, one row
 * per application, in the order applied): the business record that shows a message applied
 * twice, or an order's events applied in another order than they were sent.
 */
import { setBusinessKey } from '@onceflow/instrumentation';
import type { Handler, HandlerContext } from '../infra/endpoint.js';
import type { BillCustomer, BillingFailed, OrderBilled, OrderShipped, OrderSubmitted, PointsCredited, SubmitOrder } from '../messages.js';

export interface OrdersOptions {
  /** Declare the order id as the business key of the status events (ordering is judged per order). */
  orderKeys?: boolean;
}

/** A later status never goes back to an earlier one, whatever order the events arrive in. */
const setStatus = (ctx: HandlerContext<{ orderId: string }>, status: string, rank: number) =>
  ctx.tx.query(
    `UPDATE orders SET status = $2, updated_at = clock_timestamp()
      WHERE order_id = $1 AND (CASE status WHEN 'submitted' THEN 0 WHEN 'billing-failed' THEN 1 WHEN 'billed' THEN 1 ELSE 2 END) < $3`,
    [ctx.body.orderId, status, rank],
  );

/** Appends the message to the order's history. */
const appendHistory = (ctx: HandlerContext<{ orderId: string }>) =>
  ctx.tx.query('INSERT INTO order_events (order_id, message_id, message_type) VALUES ($1, $2, $3)', [
    ctx.body.orderId,
    ctx.delivery.messageId,
    ctx.delivery.messageType,
  ]);

export function ordersHandlers(options: OrdersOptions = {}): Record<string, Handler> {
  /** A status event: keyed by its order when asked, recorded, then applied. */
  const statusEvent = async (ctx: HandlerContext<{ orderId: string }>, status: string, rank: number) => {
    if (options.orderKeys) setBusinessKey(ctx.body.orderId);
    await appendHistory(ctx);
    await setStatus(ctx, status, rank);
  };
  return {
    async SubmitOrder(ctx: HandlerContext<SubmitOrder>) {
      const order = ctx.body;
      await appendHistory(ctx);
      await ctx.tx.query(
        "INSERT INTO orders (order_id, customer_id, amount_cents, status) VALUES ($1, $2, $3, 'submitted') ON CONFLICT DO NOTHING",
        [order.orderId, order.customerId, order.amountCents],
      );
      const summary = { orderId: order.orderId, customerId: order.customerId, amountCents: order.amountCents };
      ctx.publish('OrderSubmitted', summary satisfies OrderSubmitted);
      ctx.send('billing', 'BillCustomer', summary satisfies BillCustomer);
    },
    async OrderBilled(ctx: HandlerContext<OrderBilled>) {
      await statusEvent(ctx, 'billed', 1);
    },
    async BillingFailed(ctx: HandlerContext<BillingFailed>) {
      await statusEvent(ctx, 'billing-failed', 1);
    },
    async OrderShipped(ctx: HandlerContext<OrderShipped>) {
      await statusEvent(ctx, 'shipped', 2);
    },
    async PointsCredited(ctx: HandlerContext<PointsCredited>) {
      await appendHistory(ctx);
      await ctx.tx.query('UPDATE orders SET loyalty_points = $2 WHERE order_id = $1', [ctx.body.orderId, ctx.body.points]);
    },
  };
}
