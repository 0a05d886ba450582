/**
 * Parts of the topology that detection scenarios switch on (`FaultPlan.topology`), each a
 * situation Onceflow must not misread:
 * - `label-printer`: consumes shipping's PrintLabel without any tracing (an uninstrumented
 *   service): the message is sent, and consumed where Onceflow cannot see it.
 * - `marketing-analytics`: a second queue of the marketing service, subscribed to OrderBilled
 *   like marketing's own queue: one service consuming the same event from two queues, which
 *   is two endpoints each processing it once, not a duplicate processing.
 */
import type { Handler, HandlerContext } from '../infra/endpoint.js';
import type { OrderBilled } from '../messages.js';
import type { QueueRoute } from '../transport/transport.js';

export const LABEL_PRINTER = 'label-printer';
export const MARKETING_ANALYTICS = 'marketing-analytics';

/** The service an endpoint of the samples runs in (its `service.name`): each is its own service but marketing's second queue. */
export const serviceOfEndpoint = (endpoint: string): string => (endpoint === MARKETING_ANALYTICS ? 'marketing' : endpoint);

export interface Topology {
  /** Shipping sends PrintLabel to the untraced label printer. */
  uninstrumentedConsumer?: boolean;
  /** Marketing also consumes OrderBilled from a second queue. */
  secondQueue?: boolean;
  /** Orders declares the order id as the business key of the status events it applies (`setBusinessKey`). */
  orderKeys?: boolean;
}

export interface PrintLabel {
  orderId: string;
}

export interface ExtraEndpoint {
  name: string;
  /** The service it runs in (its spans' `service.name`). */
  service: string;
  traced: boolean;
  route: QueueRoute;
  handlers: Record<string, Handler>;
}

export function extraEndpoints(topology: Topology = {}): ExtraEndpoint[] {
  const extras: ExtraEndpoint[] = [];
  if (topology.uninstrumentedConsumer) {
    extras.push({
      name: LABEL_PRINTER,
      service: LABEL_PRINTER,
      traced: false,
      route: { queue: LABEL_PRINTER, commands: ['PrintLabel'], events: [] },
      handlers: {
        async PrintLabel(ctx: HandlerContext<PrintLabel>) {
          await ctx.tx.query('INSERT INTO labels (order_id, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
            ctx.body.orderId,
            ctx.delivery.messageId,
          ]);
        },
      },
    });
  }
  if (topology.secondQueue) {
    extras.push({
      name: MARKETING_ANALYTICS,
      service: 'marketing',
      traced: true,
      route: { queue: MARKETING_ANALYTICS, commands: [], events: ['OrderBilled'] },
      handlers: {
        async OrderBilled(ctx: HandlerContext<OrderBilled>) {
          await ctx.tx.query('INSERT INTO analytics_ledger (message_id, order_id, amount_cents) VALUES ($1, $2, $3)', [
            ctx.delivery.messageId,
            ctx.body.orderId,
            ctx.body.amountCents,
          ]);
        },
      },
    });
  }
  return extras;
}
