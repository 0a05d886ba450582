/**
 * A second, real instrumentation end to end: a service that uses only the official
 * OpenTelemetry Node SDK and @opentelemetry/instrumentation-amqplib (no Onceflow package)
 * publishes and consumes over the real RabbitMQ with one redelivery (nack + requeue), and
 * exports OTLP/HTTP to a collector running in this process (`startCollector`: receiver,
 * DuckDB store, flow indexer, API).
 *
 *   plain-shop ─ publish order ─> orders #1 nack+requeue (error status)
 *                                        #2 redelivered, ack
 *                                             └─ publish invoice ─> invoices #1 ack
 *
 * Its messages are found by id, its flow is shown (named by the trace: the spans carry no
 * conversation id), the redelivery is a duplicate delivery and a retry, and nothing beyond
 * the evidence (duplicate processing, ghost, lost) is claimed: the service records no outcomes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AMQP_URL, requireRabbitMQ } from '@onceflow/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from '../../src/app.js';
import type { MessageHistory } from '../../src/api/message-history.js';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import type { Flow, FlowSummary } from '../../src/model/flow.js';

const run = promisify(execFile);
const rabbit = await requireRabbitMQ();
const QUIET_MS = 1500;
const unique = `${process.pid}-${Date.now()}`;
const ORDER_ID = `plain-order-${unique}`;
const INVOICE_ID = `plain-invoice-${unique}`;

let collector: RunningCollector;
const dataDir = mkdtempSync(join(tmpdir(), 'onceflow-plain-otel-'));

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${collector.apiUrl}${path}`);
  return { status: response.status, body: (await response.json()) as T };
}

/** Polls until `ready` holds (the indexer and the quiet period run on their own clocks). */
async function eventually<T>(read: () => Promise<T>, ready: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ready(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(!rabbit)('a service instrumented only with OpenTelemetry and instrumentation-amqplib', () => {
  beforeAll(async () => {
    collector = await startCollector(
      { ...DEFAULT_CONFIG, port: 0, otlpPort: 0, dataDir, quietPeriodMs: QUIET_MS, retentionMs: 0 },
      { logger: silentLogger() },
    );
    const { stdout } = await run(process.execPath, [fileURLToPath(new URL('./amqplib-service.cjs', import.meta.url))], {
      env: {
        ...process.env,
        OTLP_URL: collector.otlpUrl,
        AMQP_URL,
        ORDERS_QUEUE: `onceflow-plain-orders-${unique}`,
        INVOICES_QUEUE: `onceflow-plain-invoices-${unique}`,
        ORDER_ID,
        INVOICE_ID,
      },
      timeout: 60_000,
    });
    expect(stdout).toContain('done');
  }, 90_000);

  afterAll(async () => {
    await collector?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finds its messages by id, with every delivery', async () => {
    const order = await eventually(
      () => get<MessageHistory>(`/api/messages/${ORDER_ID}`),
      (r) => r.status === 200 && (r.body.message?.deliveries.length ?? 0) >= 2,
    );
    expect(order.status).toBe(200);
    const deliveries = order.body.message!.deliveries;
    // The attempt is unknown (0) on the first delivery; the redelivered flag makes the second at least 2.
    expect(deliveries.map((d) => [d.service, d.destination, d.attempt, d.outcome, d.redelivered])).toEqual([
      ['plain-shop', 'onceflow-plain-orders-' + unique, 0, '', false],
      ['plain-shop', 'onceflow-plain-orders-' + unique, 2, '', true],
    ]);
    expect(deliveries[0].error).toBe('nack called on message with requeue');
    expect(order.body.conversationIds).toHaveLength(1);
    expect(order.body.conversationIds[0]).toMatch(/^trace:[0-9a-f]{32}$/);

    const invoice = await get<MessageHistory>(`/api/messages/${INVOICE_ID}`);
    expect(invoice.status).toBe(200);
    expect(invoice.body.conversationIds).toEqual(order.body.conversationIds);
  });

  it('shows its flow, reports the redelivery as a duplicate delivery, and claims nothing beyond the evidence', async () => {
    const conversationId = (await get<MessageHistory>(`/api/messages/${ORDER_ID}`)).body.conversationIds[0];
    const traceId = conversationId.slice('trace:'.length);
    const flow = await eventually(
      () => get<Flow>(`/api/flows/${conversationId}`),
      (r) => r.status === 200 && r.body.state !== 'active',
    );
    expect(flow.status).toBe(200);
    expect(flow.body.messages.map((m) => [m.messageId, m.producer, m.deliveries.length])).toEqual([
      [ORDER_ID, 'plain-shop', 2],
      [INVOICE_ID, 'plain-shop', 1],
    ]);
    expect(flow.body.edges).toEqual([{ from: ORDER_ID, to: INVOICE_ID, via: 'message' }]);
    expect(flow.body.anomalies.map((a) => `${a.kind}:${a.severity}:${a.messageId}`).sort()).toEqual([
      `duplicate-delivery:warning:${ORDER_ID}`,
      `retry:warning:${ORDER_ID}`,
    ]);
    expect(flow.body.anomalies.find((a) => a.kind === 'duplicate-delivery')!.detail).toContain(
      'whether it was processed more than once is unknown',
    );
    expect(flow.body.state).toBe('complete');

    // Listed and searchable like any flow: by trace id and by message id.
    const listed = await eventually(
      () => get<{ flows: FlowSummary[] }>(`/api/flows?fromMs=${Date.now() - 600_000}&toMs=${Date.now() + 60_000}`),
      (r) => r.body.flows.some((f) => f.conversationId === conversationId && f.state !== 'active'),
    );
    expect(listed.body.flows.find((f) => f.conversationId === conversationId)).toMatchObject({ messageCount: 2, services: ['plain-shop'] });
    for (const q of [traceId, INVOICE_ID]) {
      const search = await get<{ flows: FlowSummary[] }>(`/api/search?q=${q}`);
      expect(
        search.body.flows.map((f) => f.conversationId),
        q,
      ).toEqual([conversationId]);
    }
  });
});
