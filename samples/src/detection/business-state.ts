/**
 * What the order system's stores hold after a run, read back for the ground truth: inbox and
 * outbox rows, dead letters, the effect ledgers (marketing's total entries, the payment
 * provider's executions), the key-value documents and the blob store listing. Nothing here
 * comes from telemetry. `business-truth.ts` turns it into the expected anomalies.
 */
import { deterministicMessageId } from '@onceflow/instrumentation';
import { keyOf, refOf } from '../infra/blob-store.js';
import type { EntityDocument } from '../kv/entity-endpoint.js';
import type { Placed } from '../load-generator.js';
import type { OrderSystem } from '../system.js';

export interface BusinessState {
  /** Committed processings: (endpoint, message id) of every inbox row and key-value processed id. */
  processed: { service: string; messageId: string }[];
  /**
   * Outbox rows: messages whose producing transaction committed, with the message that caused
   * them (`incomingId`: the request's key at the HTTP edge) and when (epoch ms, fractional).
   */
  outbox: { service: string; messageId: string; messageType: string; dispatched: boolean; incomingId?: string; createdAtMs?: number }[];
  deadLetters: { service: string; messageId: string; messageType: string }[];
  /**
   * One entry per application of a message's effect (a message applied twice has two).
   * `external`: applied by a third party (the payment provider), outside the transaction of
   * the processing that asked for it, so it stays whether that processing commits or not.
   */
  effects: { service: string; messageId: string; messageType: string; external?: boolean }[];
  /** Committed claim checks: a message whose body went to the blob store, and its reference. */
  claimChecks: { service: string; messageId: string; messageType: string; ref: string }[];
  /** References of the blobs the store lists. */
  blobs: string[];
  /**
   * The message whose processing stored each listed blob, where known: invoicing keys a blob
   * by the id of the InvoiceIssued its OrderBilled yields, plus `-a<attempt>`.
   */
  blobWriters: { ref: string; service: string; messageId: string; messageType: string }[];
  /**
   * Per-key history a consumer keeps of the events it applies under a declared business key
   * (orders' status events, when it keys them by order): first-to-last as applied, each with
   * the time the handler applied it (epoch ms, fractional).
   */
  sequences: { service: string; key: string; messageId: string; messageType: string; appliedAtMs: number }[];
}

/** Orders' status events: the ones it keys by order when `orderKeys` is on. */
export const KEYED_ORDER_EVENTS = ['OrderBilled', 'BillingFailed', 'OrderShipped'];

export async function readBusinessState(system: OrderSystem, placed: Placed[]): Promise<BusinessState> {
  const { db } = system;
  const processed = (await db.query<{ endpoint: string; message_id: string }>('SELECT endpoint, message_id FROM inbox')).rows.map((r) => ({
    service: r.endpoint,
    messageId: r.message_id,
  }));
  if (system.loyalty) {
    const { endpoint, store } = system.loyalty;
    for (const key of await store.keys(endpoint.keyOf(''))) {
      const stored = await store.get(key);
      const doc = stored ? (JSON.parse(stored.value) as EntityDocument) : undefined;
      for (const messageId of Object.keys(doc?.processed ?? {})) processed.push({ service: endpoint.name, messageId });
    }
  }
  const outboxRows = (
    await db.query<{
      endpoint: string;
      message_id: string;
      message_type: string;
      dispatched: boolean;
      incoming_id: string;
      created_ms: string | number;
      body: string;
    }>(
      `SELECT endpoint, message_id, message_type, dispatched_at IS NOT NULL AS dispatched, incoming_id,
              extract(epoch from created_at) * 1000 AS created_ms, body FROM outbox`,
    )
  ).rows;
  const outbox = outboxRows.map((r) => ({
    service: r.endpoint,
    messageId: r.message_id,
    messageType: r.message_type,
    dispatched: r.dispatched,
    incomingId: r.incoming_id,
    createdAtMs: Number(r.created_ms),
  }));
  const deadLetters = (await system.transport.deadLetters()).map((d) => ({
    service: d.queue,
    messageId: d.messageId,
    messageType: d.messageType,
  }));

  const effects: BusinessState['effects'] = (
    await db.query<{ message_id: string; message_type: string }>('SELECT message_id, message_type FROM marketing_ledger')
  ).rows.map((r) => ({ service: 'marketing', messageId: r.message_id, messageType: r.message_type }));
  for (const row of (await db.query<{ message_id: string }>('SELECT message_id FROM analytics_ledger')).rows) {
    effects.push({ service: 'marketing-analytics', messageId: row.message_id, messageType: 'OrderBilled' });
  }
  const history = (
    await db.query<{ order_id: string; message_id: string; message_type: string; applied_ms: string | number }>(
      'SELECT order_id, message_id, message_type, extract(epoch from applied_at) * 1000 AS applied_ms FROM order_events ORDER BY seq',
    )
  ).rows;
  for (const row of history) effects.push({ service: 'orders', messageId: row.message_id, messageType: row.message_type });
  const sequences = system.plan.topology?.orderKeys
    ? history
        .filter((r) => KEYED_ORDER_EVENTS.includes(r.message_type))
        .map((r) => ({
          service: 'orders',
          key: r.order_id,
          messageId: r.message_id,
          messageType: r.message_type,
          appliedAtMs: Number(r.applied_ms),
        }))
    : [];
  for (const row of await providerExecutions(system, placed, outboxRows)) effects.push(row);
  const claimChecks = (
    await db.query<{ message_id: string; blob_ref: string }>('SELECT message_id, blob_ref FROM invoices WHERE blob_ref IS NOT NULL')
  ).rows.map((r) => ({ service: 'invoicing', messageId: r.message_id, messageType: 'InvoiceIssued', ref: r.blob_ref }));
  const blobs = (await system.blobs.list()).map((b) => refOf(b.key));
  const blobWriters = writersOf(blobs, outboxRows);
  return { processed, outbox, deadLetters, effects, claimChecks, blobs, blobWriters, sequences };
}

/** Each blob's writer: the OrderBilled (billing's outbox holds every one) whose InvoiceIssued id keys it. */
function writersOf(
  blobs: string[],
  outboxRows: { endpoint: string; message_id: string; message_type: string }[],
): BusinessState['blobWriters'] {
  const billedByInvoice = new Map<string, string>();
  for (const row of outboxRows) {
    if (row.endpoint === 'billing' && row.message_type === 'OrderBilled')
      billedByInvoice.set(deterministicMessageId(row.message_id, 'invoicing', 'InvoiceIssued'), row.message_id);
  }
  const writers: BusinessState['blobWriters'] = [];
  for (const ref of blobs) {
    const billed = billedByInvoice.get(keyOf(ref).replace(/-a\d+$/, ''));
    if (billed) writers.push({ ref, service: 'invoicing', messageId: billed, messageType: 'OrderBilled' });
  }
  return writers;
}

/**
 * The payment provider's executions (declined ones too), each an effect of billing's processing
 * of the BillCustomer that asked for it (a request executed twice is that message's effect
 * applied twice): found by its charge key (derived from the BillCustomer's id), or, for a charge
 * requested without a key, by its order when that order had one BillCustomer. The BillCustomers
 * are those orders' outbox committed, and the one each placed order's SubmitOrder yields (a
 * ghost is in no outbox).
 */
async function providerExecutions(
  system: OrderSystem,
  placed: Placed[],
  outboxRows: { endpoint: string; message_id: string; message_type: string; body: string }[],
): Promise<BusinessState['effects']> {
  const bills = new Map<string, Set<string>>();
  const addBill = (orderId: string, messageId: string) => bills.set(orderId, (bills.get(orderId) ?? new Set()).add(messageId));
  for (const p of placed) addBill(p.orderId, deterministicMessageId(p.messageId, 'orders', 'BillCustomer'));
  for (const row of outboxRows) {
    if (row.endpoint === 'orders' && row.message_type === 'BillCustomer')
      addBill((JSON.parse(row.body) as { orderId: string }).orderId, row.message_id);
  }
  const byChargeKey = new Map<string, string>();
  for (const ids of bills.values()) for (const id of ids) byChargeKey.set(deterministicMessageId(id, 'billing', 'charge'), id);
  const effects: BusinessState['effects'] = [];
  const { rows } = await system.providerDb.query<{ order_id: string; charge_key: string }>(
    'SELECT order_id, charge_key FROM provider_executions',
  );
  for (const row of rows) {
    const ids = [...(bills.get(row.order_id) ?? [])];
    const messageId = row.charge_key ? byChargeKey.get(row.charge_key) : ids.length === 1 ? ids[0] : undefined;
    if (messageId) effects.push({ service: 'billing', messageId, messageType: 'BillCustomer', external: true });
  }
  return effects;
}
