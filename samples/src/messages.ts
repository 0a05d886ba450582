/**
 * The order system's messages and who receives them. Commands go to one endpoint's queue;
 * events reach every endpoint subscribed to their type. Every published type has a
 * subscriber, so nothing sent is legitimately left unconsumed.
 */
export interface SubmitOrder {
  orderId: string;
  customerId: string;
  amountCents: number;
  lines: { sku: string; quantity: number; priceCents: number }[];
}
export interface OrderSubmitted {
  orderId: string;
  customerId: string;
  amountCents: number;
}
export interface BillCustomer {
  orderId: string;
  customerId: string;
  amountCents: number;
}
export interface OrderBilled {
  orderId: string;
  customerId: string;
  amountCents: number;
  chargeId: string;
}
export interface BillingFailed {
  orderId: string;
  customerId: string;
  reason: string;
}
export interface OrderShipped {
  orderId: string;
}
/** Claim check: the invoice document travels inline when small, else as a blob reference. */
export interface InvoiceIssued {
  orderId: string;
  bytes: number;
  sha256: string;
  inline?: string;
  ref?: string;
}
export interface GrantCoupon {
  customerId: string;
  couponId: string;
  totalCents: number;
}

export const ENDPOINTS = ['orders', 'billing', 'shipping', 'invoicing', 'marketing'] as const;
export type EndpointName = (typeof ENDPOINTS)[number];

/** Every service of the system: the HTTP edge, the five endpoints, the third-party payment provider. */
export const SERVICES = ['shop-api', ...ENDPOINTS, 'payment-provider'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** What each endpoint's queue receives: commands sent to it and events it subscribes to. */
export const ROUTES: Record<EndpointName, { commands: string[]; events: string[] }> = {
  orders: { commands: ['SubmitOrder'], events: ['OrderBilled', 'BillingFailed', 'OrderShipped'] },
  billing: { commands: ['BillCustomer'], events: [] },
  shipping: { commands: [], events: ['OrderBilled', 'InvoiceIssued'] },
  invoicing: { commands: [], events: ['OrderBilled'] },
  marketing: { commands: ['GrantCoupon'], events: ['OrderSubmitted', 'OrderBilled'] },
};

/** Endpoints that receive a message of this type (commands: one; events: every subscriber). */
export function receiversOf(messageType: string): EndpointName[] {
  return ENDPOINTS.filter((e) => ROUTES[e].commands.includes(messageType) || ROUTES[e].events.includes(messageType));
}
