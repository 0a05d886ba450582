/**
 * What the order system's stores hold after a run, read back for the ground truth: inbox and
 * outbox rows, dead letters, the effect ledgers (marketing's total entries, the payment
 * provider's executions), the key-value documents and the blob store listing. Nothing here
 * comes from telemetry. `business-truth.ts` turns it into the expected anomalies.
 */
import { deterministicMessageId } from '@onceflow/instrumentation';
import { refOf } from '../infra/blob-store.js';
import type { EntityDocument } from '../kv/entity-endpoint.js';
import type { Placed } from '../load-generator.js';
import type { OrderSystem } from '../system.js';

export interface BusinessState {
  /** Committed processings: (endpoint, message id) of every inbox row and key-value processed id. */
  processed: { service: string; messageId: string }[];
  /** Outbox rows: messages whose producing transaction committed. */
  outbox: { service: string; messageId: string; messageType: string; dispatched: boolean }[];
  deadLetters: { service: string; messageId: string; messageType: string }[];
  /** One entry per application of a message's effect (a message applied twice has two). */
  effects: { service: string; messageId: string; messageType: string }[];
  /** Committed claim checks: a message whose body went to the blob store, and its reference. */
  claimChecks: { service: string; messageId: string; messageType: string; ref: string }[];
  /** References of the blobs the store lists. */
  blobs: string[];
}

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
  const outbox = (
    await db.query<{ endpoint: string; message_id: string; message_type: string; dispatched: boolean }>(
      'SELECT endpoint, message_id, message_type, dispatched_at IS NOT NULL AS dispatched FROM outbox',
    )
  ).rows.map((r) => ({ service: r.endpoint, messageId: r.message_id, messageType: r.message_type, dispatched: r.dispatched }));
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
  // The provider's executions, per order: each is one processing of that order's BillCustomer.
  const billOf = new Map(placed.map((p) => [p.orderId, deterministicMessageId(p.messageId, 'orders', 'BillCustomer')]));
  for (const row of (await system.providerDb.query<{ order_id: string }>('SELECT order_id FROM provider_ledger')).rows) {
    const messageId = billOf.get(row.order_id);
    if (messageId) effects.push({ service: 'billing', messageId, messageType: 'BillCustomer' });
  }
  const claimChecks = (
    await db.query<{ message_id: string; blob_ref: string }>('SELECT message_id, blob_ref FROM invoices WHERE blob_ref IS NOT NULL')
  ).rows.map((r) => ({ service: 'invoicing', messageId: r.message_id, messageType: 'InvoiceIssued', ref: r.blob_ref }));
  const blobs = (await system.blobs.list()).map((b) => refOf(b.key));
  return { processed, outbox, deadLetters, effects, claimChecks, blobs };
}
