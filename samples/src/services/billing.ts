/**
 * `billing`: BillCustomer → charges the customer through the payment provider exactly once,
 * then OrderBilled or BillingFailed. The charge key is derived from the message id, so every
 * attempt at this message uses the same key and the provider executes the charge once.
 */
import { deterministicMessageId } from '@onceflow/instrumentation';
import { HTTP_HEADER_IDEMPOTENCY_KEY } from '@onceflow/instrumentation/semconv';
import { type Handler, type HandlerContext, type PrepareContext, UnrecoverableError } from '../infra/endpoint.js';
import type { BillCustomer, BillingFailed, OrderBilled } from '../messages.js';
import type { ChargeResponse } from './payment-provider.js';

export interface BillingOptions {
  providerUrl: string;
  /** Tries per HTTP call when the response is lost or the provider fails. */
  httpTries: number;
  /** BUG: charge with one plain `POST /charges` and no idempotency key (a retried request charges again). */
  withoutKey?: boolean;
}

export function billingHandlers({ providerUrl, httpTries, withoutKey }: BillingOptions): Record<string, Handler> {
  /** One HTTP request, tried again when its response is lost; `key` (when given) is in the path and the header. */
  const call = async (method: string, key: string | undefined, body?: unknown): Promise<{ status: number; json: unknown }> => {
    let lastError: unknown;
    for (let attempt = 1; attempt <= httpTries; attempt++) {
      try {
        const res = await fetch(key === undefined ? `${providerUrl}/charges` : `${providerUrl}/charges/${key}`, {
          method,
          headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { [HTTP_HEADER_IDEMPOTENCY_KEY]: key }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.status >= 500) throw new Error(`${method} /charges answered ${res.status}`);
        return { status: res.status, json: text ? JSON.parse(text) : undefined };
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  };

  const chargeKey = (ctx: { delivery: { messageId: string }; endpoint: string }) =>
    deterministicMessageId(ctx.delivery.messageId, ctx.endpoint, 'charge');

  return {
    BillCustomer: {
      // The HTTP protocol runs before the transaction: no database transaction stays open
      // while a third party answers. The key makes every repeat of it safe.
      async prepare(ctx: PrepareContext<BillCustomer>): Promise<ChargeResponse> {
        if (withoutKey) {
          const charged = await call('POST', undefined, ctx.body);
          if (charged.status !== 200) throw new Error(`POST /charges answered ${charged.status}`);
          return charged.json as ChargeResponse;
        }
        const key = chargeKey(ctx);
        const stored = await call('PUT', key, ctx.body);
        if (stored.status === 410) throw new UnrecoverableError(`charge ${key} was already completed and cleaned up`);
        if (stored.status !== 200) throw new Error(`PUT /charges answered ${stored.status}`);
        const executed = await call('POST', key);
        if (executed.status === 409) throw new UnrecoverableError(`charge ${key} refused after clean-up`);
        if (executed.status !== 200) throw new Error(`POST /charges answered ${executed.status}`);
        const fetched = await call('GET', key);
        if (fetched.status !== 200) throw new Error(`GET /charges answered ${fetched.status}`);
        return fetched.json as ChargeResponse;
      },
      async handle(ctx: HandlerContext<BillCustomer>, response: ChargeResponse) {
        const bill = ctx.body;
        const key = chargeKey(ctx);
        await ctx.tx.query(
          'INSERT INTO billing_charges (order_id, charge_key, status, charge_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
          [bill.orderId, key, response.status, response.chargeId ?? null],
        );
        if (response.status === 'succeeded' && response.chargeId) {
          ctx.publish('OrderBilled', { ...bill, chargeId: response.chargeId } satisfies OrderBilled);
        } else {
          ctx.publish('BillingFailed', {
            orderId: bill.orderId,
            customerId: bill.customerId,
            reason: response.reason ?? 'declined',
          } satisfies BillingFailed);
        }
        // Clean up once committed: from then on a late duplicate's POST is refused.
        if (!withoutKey)
          ctx.afterCommit(async () => {
            await call('DELETE', key);
          });
      },
    },
  };
}
