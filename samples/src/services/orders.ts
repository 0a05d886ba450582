/** `orders`: accepts SubmitOrder, announces it and asks billing to charge; tracks the order's status. */
import type { Handler, HandlerContext } from '../infra/endpoint.js';
import type { BillCustomer, BillingFailed, OrderBilled, OrderShipped, OrderSubmitted, PointsCredited, SubmitOrder } from '../messages.js';

/** A later status never goes back to an earlier one, whatever order the events arrive in. */
const setStatus = (ctx: HandlerContext<{ orderId: string }>, status: string, rank: number) =>
  ctx.tx.query(
    `UPDATE orders SET status = $2, updated_at = clock_timestamp()
      WHERE order_id = $1 AND (CASE status WHEN 'submitted' THEN 0 WHEN 'billing-failed' THEN 1 WHEN 'billed' THEN 1 ELSE 2 END) < $3`,
    [ctx.body.orderId, status, rank],
  );

export const ordersHandlers: Record<string, Handler> = {
  async SubmitOrder(ctx: HandlerContext<SubmitOrder>) {
    const order = ctx.body;
    await ctx.tx.query(
      "INSERT INTO orders (order_id, customer_id, amount_cents, status) VALUES ($1, $2, $3, 'submitted') ON CONFLICT DO NOTHING",
      [order.orderId, order.customerId, order.amountCents],
    );
    const summary = { orderId: order.orderId, customerId: order.customerId, amountCents: order.amountCents };
    ctx.publish('OrderSubmitted', summary satisfies OrderSubmitted);
    ctx.send('billing', 'BillCustomer', summary satisfies BillCustomer);
  },
  async OrderBilled(ctx: HandlerContext<OrderBilled>) {
    await setStatus(ctx, 'billed', 1);
  },
  async BillingFailed(ctx: HandlerContext<BillingFailed>) {
    await setStatus(ctx, 'billing-failed', 1);
  },
  async OrderShipped(ctx: HandlerContext<OrderShipped>) {
    await setStatus(ctx, 'shipped', 2);
  },
  async PointsCredited(ctx: HandlerContext<PointsCredited>) {
    await ctx.tx.query('UPDATE orders SET loyalty_points = $2 WHERE order_id = $1', [ctx.body.orderId, ctx.body.points]);
  },
};
