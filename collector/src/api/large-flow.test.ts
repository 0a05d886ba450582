/**
 * A flow of 10,000 messages (one conversation, 20,000 spans) comes back paged through the API:
 * the counts cover the whole flow, each page holds `limit` messages, nothing crashes.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attempt, send } from '../../test/span-builders.js';
import { createApp } from '../app.js';
import { silentLogger } from '../logger.js';
import type { Flow } from '../model/flow.js';
import type { SpanRow } from '../model/span.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';

const MESSAGES = 10_000;
const T0 = Date.UTC(2026, 0, 31, 11, 0, 0);
let store: DuckDbStore;
let app: FastifyInstance;

beforeAll(async () => {
  const spans: SpanRow[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const sent = send({
      service: 'importer',
      messageId: `line-${i}`,
      messageType: 'ImportLine',
      destination: 'lines',
      atMs: T0 + i,
      conversationId: 'conv-bulk-import',
    });
    spans.push(sent, attempt({ parent: sent, service: 'catalog', outcome: 'processed', atMs: T0 + i + 5 }));
  }
  store = new DuckDbStore({ path: ':memory:' });
  await store.init();
  await store.insertSpans(spans);
  app = await createApp({ store, logger: silentLogger(), clock: () => T0 + 3_600_000 });
}, 120_000);

afterAll(async () => {
  await app.close();
  await store.close();
});

describe('a flow of 10,000 messages', () => {
  it('is returned one page at a time with whole-flow counts', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/flows/conv-bulk-import?offset=9950&limit=100' });
    expect(response.statusCode).toBe(200);
    const flow = response.json() as Flow;
    expect(flow.messageCount).toBe(MESSAGES);
    expect(flow.spanCount).toBe(2 * MESSAGES);
    expect(flow.page).toEqual({ offset: 9950, limit: 100, total: MESSAGES });
    expect(flow.messages).toHaveLength(50);
    expect(flow.truncated).toBe(false);
    expect(flow.state).toBe('complete');
  }, 60_000);

  it('pages by default', async () => {
    const flow = (await app.inject({ method: 'GET', url: '/api/flows/conv-bulk-import' })).json() as Flow;
    expect(flow.messages).toHaveLength(200);
    expect(flow.page.total).toBe(MESSAGES);
  }, 60_000);
});
