/**
 * `marketing`: keeps per-customer totals of billed orders and grants one coupon when a
 * customer's total first crosses the threshold. Processing an OrderBilled twice shows as a
 * wrong total and, near the threshold, a coupon granted too early.
 */
import type { Handler, HandlerContext } from '../infra/endpoint.js';
import type { GrantCoupon, OrderBilled, OrderSubmitted } from '../messages.js';

/** One ledger row per message applied, whatever it changed. */
const record = (ctx: HandlerContext<unknown>, customerId: string, amountCents: number) =>
  ctx.tx.query('INSERT INTO marketing_ledger (message_id, message_type, customer_id, amount_cents) VALUES ($1, $2, $3, $4)', [
    ctx.delivery.messageId,
    ctx.delivery.messageType,
    customerId,
    amountCents,
  ]);

export function marketingHandlers(couponThresholdCents: number): Record<string, Handler> {
  return {
    async OrderSubmitted(ctx: HandlerContext<OrderSubmitted>) {
      await ctx.tx.query(
        `INSERT INTO customer_totals (customer_id, total_cents, orders, submitted) VALUES ($1, 0, 0, 1)
         ON CONFLICT (customer_id) DO UPDATE SET submitted = customer_totals.submitted + 1`,
        [ctx.body.customerId],
      );
      await record(ctx, ctx.body.customerId, 0);
    },
    async OrderBilled(ctx: HandlerContext<OrderBilled>) {
      const { customerId, amountCents } = ctx.body;
      const { rows } = await ctx.tx.query<{ total_cents: string | number }>(
        `INSERT INTO customer_totals (customer_id, total_cents, orders, submitted) VALUES ($1, $2, 1, 0)
         ON CONFLICT (customer_id) DO UPDATE SET total_cents = customer_totals.total_cents + $2, orders = customer_totals.orders + 1
         RETURNING total_cents`,
        [customerId, amountCents],
      );
      await record(ctx, customerId, amountCents);
      const total = Number(rows[0].total_cents);
      if (total - amountCents < couponThresholdCents && total >= couponThresholdCents) {
        ctx.send('marketing', 'GrantCoupon', { customerId, couponId: `coupon-${customerId}`, totalCents: total } satisfies GrantCoupon);
      }
    },
    async GrantCoupon(ctx: HandlerContext<GrantCoupon>) {
      await ctx.tx.query('INSERT INTO coupons (coupon_id, customer_id, message_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        `${ctx.body.couponId}-${ctx.delivery.messageId}`,
        ctx.body.customerId,
        ctx.delivery.messageId,
      ]);
      await record(ctx, ctx.body.customerId, 0);
    },
  };
}
