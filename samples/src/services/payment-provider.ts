/**
 * `payment-provider`: a third party charging cards over HTTP, with the glossary's protocol
 * for exactly-once calls. The client stores its request under an attempt key (PUT), executes
 * it (POST: the stored request is the token; executed at most once, the stored response
 * replayed for every repeat), reads the response (GET) and cleans up (DELETE). A POST after
 * DELETE is refused, so a late duplicate can never charge again.
 */
import { randomUUID } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { decide, type FaultPlan, faultsFor } from '../faults/faults.js';
import type { GroundTruth } from '../faults/ground-truth.js';
import type { Database, Sql } from '../infra/database.js';

export const PAYMENT_PROVIDER = 'payment-provider';

/** Charges above this amount are declined (a card limit), which billing reports as BillingFailed. */
export const CARD_LIMIT_CENTS = 50_000;

const ChargeRequest = z.object({
  orderId: z.string().min(1),
  customerId: z.string().min(1),
  amountCents: z.number().int().positive(),
});

export interface ChargeResponse {
  status: 'succeeded' | 'declined';
  chargeId?: string;
  reason?: string;
}

interface ChargeRow {
  request: z.infer<typeof ChargeRequest>;
  status: 'stored' | 'executed' | 'deleted';
  response: ChargeResponse | null;
}

export interface PaymentProviderDeps {
  db: Database;
  plan: FaultPlan;
  truth: GroundTruth;
  logger: Logger;
}

export function createPaymentProviderApp({ db, plan, truth, logger }: PaymentProviderDeps) {
  const app = express();
  app.use(express.json());
  const faults = faultsFor(plan, PAYMENT_PROVIDER);
  const responsesLost = new Set<string>();

  /**
   * Executes a charge: declined above the card limit, else one row in the ledger. Every
   * execution, declined or not, is one row of `provider_executions` (what the provider did).
   */
  const execute = async (tx: Sql, key: string, request: z.infer<typeof ChargeRequest>): Promise<ChargeResponse> => {
    const declined = request.amountCents > CARD_LIMIT_CENTS;
    await tx.query('INSERT INTO provider_executions (charge_key, order_id, outcome) VALUES ($1, $2, $3)', [
      key,
      request.orderId,
      declined ? 'declined' : 'succeeded',
    ]);
    if (declined) {
      return { status: 'declined', reason: `amount above the card limit of ${CARD_LIMIT_CENTS} cents` };
    }
    const chargeId = randomUUID();
    await tx.query('INSERT INTO provider_ledger (charge_id, charge_key, order_id, customer_id, amount_cents) VALUES ($1, $2, $3, $4, $5)', [
      chargeId,
      key,
      request.orderId,
      request.customerId,
      request.amountCents,
    ]);
    return { status: 'succeeded', chargeId };
  };

  const load = async (key: string, forUpdate = false) => {
    const { rows } = await db.query<ChargeRow>(
      `SELECT request, status, response FROM provider_charges WHERE charge_key = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [key],
    );
    return rows[0];
  };

  app.put('/charges/:key', async (req: Request<{ key: string }>, res: Response) => {
    const parsed = ChargeRequest.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.message });
    await db.query('INSERT INTO provider_charges (charge_key, request, status) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      req.params.key,
      JSON.stringify(parsed.data),
      'stored',
    ]);
    const row = await load(req.params.key);
    if (row?.status === 'deleted') return void res.status(410).json({ error: 'charge was already completed and cleaned up' });
    res.status(200).json({ key: req.params.key, status: row?.status });
  });

  /**
   * The same charge without the protocol: no key, so every request is a new charge (what a
   * client without an idempotency key gets). A response may be lost like the keyed POST's
   * (the first one per order), and the client's retry charges again.
   */
  app.post('/charges', async (req: Request, res: Response) => {
    const parsed = ChargeRequest.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.message });
    const response = await db.transaction((tx) => execute(tx, '', parsed.data));
    const lossKey = `order:${parsed.data.orderId}`;
    if (!responsesLost.has(lossKey) && decide(plan, faults.httpResponseLost, 'http-lost', PAYMENT_PROVIDER, lossKey)) {
      responsesLost.add(lossKey);
      truth.record({
        kind: 'http-retry',
        messageId: lossKey,
        service: PAYMENT_PROVIDER,
        messageType: 'POST /charges',
        detail: 'response lost after executing (no idempotency key)',
      });
      req.socket.destroy();
      return;
    }
    res.status(200).json(response);
  });

  app.post('/charges/:key', async (req: Request<{ key: string }>, res: Response) => {
    const key = req.params.key;
    const result = await db.transaction(async (tx) => {
      const { rows } = await tx.query<ChargeRow>(
        'SELECT request, status, response FROM provider_charges WHERE charge_key = $1 FOR UPDATE',
        [key],
      );
      const row = rows[0];
      if (!row) return { code: 404, body: { error: 'no stored request under this key (PUT it first)' } };
      if (row.status === 'deleted') return { code: 409, body: { error: 'charge was cleaned up; a POST after DELETE is refused' } };
      if (row.status === 'executed' && row.response) return { code: 200, body: row.response, replayed: true };
      const request = typeof row.request === 'string' ? ChargeRequest.parse(JSON.parse(row.request)) : row.request;
      const response = await execute(tx, key, request);
      await tx.query("UPDATE provider_charges SET status = 'executed', response = $2 WHERE charge_key = $1", [
        key,
        JSON.stringify(response),
      ]);
      return { code: 200, body: response, replayed: false };
    });
    res.setHeader('x-replayed', String(Boolean(result.replayed)));
    if (
      result.code === 200 &&
      !result.replayed &&
      !responsesLost.has(key) &&
      decide(plan, faults.httpResponseLost, 'http-lost', PAYMENT_PROVIDER, key)
    ) {
      // The charge is executed and stored, but the response never reaches the client.
      responsesLost.add(key);
      truth.record({
        kind: 'http-retry',
        messageId: key,
        service: PAYMENT_PROVIDER,
        messageType: 'POST /charges',
        detail: 'response lost after executing',
      });
      logger.debug({ key }, 'dropping the response (injected fault)');
      req.socket.destroy();
      return;
    }
    res.status(result.code).json(result.body);
  });

  app.get('/charges/:key', async (req: Request<{ key: string }>, res: Response) => {
    const row = await load(req.params.key);
    if (!row || row.status === 'stored') return void res.status(404).json({ error: 'no response stored under this key' });
    if (row.status === 'deleted') return void res.status(410).json({ error: 'cleaned up' });
    res.status(200).json(row.response);
  });

  app.delete('/charges/:key', async (req: Request<{ key: string }>, res: Response) => {
    await db.query("UPDATE provider_charges SET status = 'deleted' WHERE charge_key = $1", [req.params.key]);
    res.status(204).end();
  });

  app.get('/ledger', async (_req, res) => {
    const { rows } = await db.query('SELECT charge_id, order_id, customer_id, amount_cents FROM provider_ledger ORDER BY charged_at');
    res.json(rows);
  });
  return app;
}
