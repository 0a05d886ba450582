/**
 * `loyalty`: a customer's points account, kept as one document per customer in a key-value
 * store (Redis in real mode, a compare-and-set table embedded) by the entity endpoint
 * (`kv/entity-endpoint.ts`): OrderBilled credits a point per whole currency unit and
 * announces PointsCredited, which orders records on the order.
 */
import type { EntityHandler } from '../kv/entity-endpoint.js';
import type { OrderBilled, PointsCredited } from '../messages.js';

export interface LoyaltyAccount {
  points: number;
  orders: number;
}

export const pointsFor = (amountCents: number) => Math.floor(amountCents / 100);

export const loyaltyHandlers: Record<string, EntityHandler<LoyaltyAccount, never>> = {
  OrderBilled: {
    entityOf: (body: OrderBilled) => body.customerId,
    initial: () => ({ points: 0, orders: 0 }),
    apply(account, body: OrderBilled, ctx) {
      const points = pointsFor(body.amountCents);
      const balance = account.points + points;
      ctx.publish('PointsCredited', { orderId: body.orderId, customerId: body.customerId, points, balance } satisfies PointsCredited);
      return { points: balance, orders: account.orders + 1 };
    },
  } as EntityHandler<LoyaltyAccount, never>,
};
