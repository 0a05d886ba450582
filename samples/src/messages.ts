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
/** Loyalty points credited to a customer's account (a key-value document) for a billed order. */
export interface PointsCredited {
  orderId: string;
  customerId: string;
  points: number;
  /** The account's balance after this credit. */
  balance: number;
}
export interface GrantCoupon {
  customerId: string;
  couponId: string;
  totalCents: number;
}

export const ENDPOINTS = ['orders', 'billing', 'shipping', 'invoicing', 'marketing', 'loyalty'] as const;
export type EndpointName = (typeof ENDPOINTS)[number];
/** The endpoint whose state lives in a key-value store (no transactions across documents). */
export const LOYALTY = 'loyalty';
/** The endpoints on the relational runtime (inbox, state and outbox in one transaction). */
export type RelationalEndpointName = Exclude<EndpointName, typeof LOYALTY>;

/** Every service of the system: the HTTP edge, the five endpoints, the third-party payment provider. */
export const SERVICES = ['shop-api', ...ENDPOINTS, 'payment-provider'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** What each endpoint's queue receives: commands sent to it and events it subscribes to. */
export const ROUTES: Record<EndpointName, { commands: string[]; events: string[] }> = {
  orders: { commands: ['SubmitOrder'], events: ['OrderBilled', 'BillingFailed', 'OrderShipped', 'PointsCredited'] },
  billing: { commands: ['BillCustomer'], events: [] },
  shipping: { commands: [], events: ['OrderBilled', 'InvoiceIssued'] },
  invoicing: { commands: [], events: ['OrderBilled'] },
  marketing: { commands: ['GrantCoupon'], events: ['OrderSubmitted', 'OrderBilled'] },
  loyalty: { commands: [], events: ['OrderBilled'] },
};

/** Endpoints that receive a message of this type (commands: one; events: every subscriber). */
export function receiversOf(messageType: string): EndpointName[] {
  return ENDPOINTS.filter((e) => ROUTES[e].commands.includes(messageType) || ROUTES[e].events.includes(messageType));
}

/** The endpoints one outgoing message reaches: a command its destination queue, an event every subscriber. */
export function receiversOfOutgoing(message: { kind: 'send' | 'publish'; destination: string; messageType: string }): string[] {
  return message.kind === 'send' ? [message.destination] : receiversOf(message.messageType);
}
