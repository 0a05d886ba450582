/**
 * The tables of the whole order system. One schema holds every endpoint's inbox, outbox and
 * business state (rows carry the endpoint where several share a table), the table queue, and
 * the payment provider's ledger. Plain PostgreSQL: the same statements run on PGlite.
 */
import type { Sql } from './database.js';

const STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS inbox (
     endpoint text NOT NULL, message_id text NOT NULL,
     processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     PRIMARY KEY (endpoint, message_id))`,
  `CREATE TABLE IF NOT EXISTS outbox (
     endpoint text NOT NULL, message_id text NOT NULL, incoming_id text NOT NULL,
     kind text NOT NULL, destination text NOT NULL, message_type text NOT NULL,
     headers jsonb NOT NULL, body text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp(), dispatched_at timestamptz,
     claim_token text, claimed_until timestamptz,
     PRIMARY KEY (endpoint, message_id))`,
  // Databases created before rows were claimed for dispatch.
  `ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claim_token text`,
  `ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_until timestamptz`,
  `CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (endpoint, incoming_id) WHERE dispatched_at IS NULL`,
  `CREATE TABLE IF NOT EXISTS queue_messages (
     id bigserial PRIMARY KEY, queue text NOT NULL, message_id text NOT NULL, message_type text NOT NULL,
     headers jsonb NOT NULL, body text NOT NULL,
     enqueued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     visible_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     attempts integer NOT NULL DEFAULT 0, lease text)`,
  `CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages (queue, visible_at, id)`,
  `CREATE TABLE IF NOT EXISTS queue_dead_letters (
     id bigint PRIMARY KEY, queue text NOT NULL, message_id text NOT NULL, message_type text NOT NULL,
     headers jsonb NOT NULL, body text NOT NULL, attempts integer NOT NULL, reason text NOT NULL,
     dead_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  `CREATE TABLE IF NOT EXISTS queue_subscriptions (
     message_type text NOT NULL, queue text NOT NULL, PRIMARY KEY (message_type, queue))`,
  `CREATE TABLE IF NOT EXISTS shop_client_requests (
     client_id text NOT NULL, idempotency_key text NOT NULL, request_sha256 text NOT NULL,
     order_id text NOT NULL, message_id text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     PRIMARY KEY (client_id, idempotency_key))`,
  `CREATE TABLE IF NOT EXISTS orders (
     order_id text PRIMARY KEY, customer_id text NOT NULL, amount_cents bigint NOT NULL,
     status text NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  `ALTER TABLE orders ADD COLUMN IF NOT EXISTS loyalty_points integer`,
  // Orders' history: one row per message applied, in the order applied (no key on purpose: a
  // message applied twice has two rows). applied_at is taken as the handler starts applying it.
  `CREATE TABLE IF NOT EXISTS order_events (
     seq bigserial PRIMARY KEY, order_id text NOT NULL, message_id text NOT NULL, message_type text NOT NULL,
     applied_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  `CREATE TABLE IF NOT EXISTS billing_charges (
     order_id text PRIMARY KEY, charge_key text NOT NULL, status text NOT NULL, charge_id text)`,
  `CREATE TABLE IF NOT EXISTS provider_charges (
     charge_key text PRIMARY KEY, request jsonb NOT NULL, status text NOT NULL, response jsonb,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  `CREATE TABLE IF NOT EXISTS provider_ledger (
     charge_id text PRIMARY KEY, charge_key text NOT NULL, order_id text NOT NULL,
     customer_id text NOT NULL, amount_cents bigint NOT NULL,
     charged_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  // Every execution of a charge request (declined ones too): a request executed twice has two rows.
  `CREATE TABLE IF NOT EXISTS provider_executions (
     seq bigserial PRIMARY KEY, charge_key text NOT NULL, order_id text NOT NULL, outcome text NOT NULL,
     executed_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  `CREATE TABLE IF NOT EXISTS shipments (
     order_id text PRIMARY KEY, shipped_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  `CREATE TABLE IF NOT EXISTS parcel_invoices (
     order_id text PRIMARY KEY, bytes bigint NOT NULL, sha256 text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS invoices (
     order_id text PRIMARY KEY, message_id text NOT NULL, blob_ref text, bytes bigint NOT NULL, sha256 text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS customer_totals (
     customer_id text PRIMARY KEY, total_cents bigint NOT NULL, orders integer NOT NULL, submitted integer NOT NULL)`,
  // Marketing's ledger: one row per message applied (a total changed, a coupon granted), the
  // business record that shows a message applied twice (no key on purpose).
  `CREATE TABLE IF NOT EXISTS marketing_ledger (
     message_id text NOT NULL, message_type text NOT NULL, customer_id text NOT NULL,
     amount_cents bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  `CREATE TABLE IF NOT EXISTS labels (order_id text PRIMARY KEY, message_id text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS analytics_ledger (message_id text NOT NULL, order_id text NOT NULL, amount_cents bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS coupons (
     coupon_id text PRIMARY KEY, customer_id text NOT NULL, message_id text NOT NULL,
     granted_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
];

/**
 * Creates what is missing. Services started together as separate processes may race on
 * `CREATE … IF NOT EXISTS` (PostgreSQL then reports a duplicate); the loser tries again.
 */
export async function migrate(sql: Sql, tries = 3): Promise<void> {
  try {
    for (const statement of STATEMENTS) await sql.query(statement);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (tries <= 1 || (code !== '23505' && code !== '42P07')) throw error;
    await migrate(sql, tries - 1);
  }
}
