/**
 * Deduplication without cross-entity transactions, under crashes: the entity endpoint on the
 * embedded table store and on Redis, with the process "dying" after every step of the
 * algorithm in turn. After the redelivery has recovered, the business state must show no
 * duplicate effect, no lost message and no ghost: the documents and the queue are read back.
 *
 *   Deposit(m) ──► accounts-… (document: balance, processed ids, outbox)
 *                      ├─ Credited(m) ──► sink
 *                      └─ Receipt(m)  ──► sink      (a crash can fall between the two sends)
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { deterministicMessageId } from '@onceflow/instrumentation';
import { REDIS_URL, requireRedis } from '@onceflow/test-support';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/infra/database.js';
import { migrate } from '../src/infra/schema.js';
import type { DocumentStore } from '../src/kv/document-store.js';
import { EntityEndpoint, type EntityDocument, type EntityHandler, type EntityStep } from '../src/kv/entity-endpoint.js';
import { createRedisDocumentStore } from '../src/kv/redis-document-store.js';
import { createTableDocumentStore } from '../src/kv/table-document-store.js';
import { TableQueueTransport } from '../src/transport/table-queue.js';
import { closeEmbeddedDatabase, freshEmbeddedDatabase } from './helpers.js';

const redis = await requireRedis();

interface Account {
  balance: number;
}
interface Deposit {
  account: string;
  amount: number;
}

const deposit: EntityHandler<Account, Deposit> = {
  entityOf: (body) => body.account,
  initial: () => ({ balance: 0 }),
  apply(state, body, ctx) {
    ctx.send('sink', 'Credited', { account: body.account, amount: body.amount });
    ctx.send('sink', 'Receipt', { account: body.account, balance: state.balance + body.amount });
    return { balance: state.balance + body.amount };
  },
};

const STEPS: EntityStep[] = ['received', 'loaded', 'applied', 'committed', 'sent 1', 'sent 2', 'cleared'];

const stores: { name: string; available: boolean; open: (db: Database) => Promise<DocumentStore> }[] = [
  { name: 'the embedded table', available: true, open: (db) => createTableDocumentStore(db) },
  { name: 'Redis', available: redis, open: () => createRedisDocumentStore(REDIS_URL) },
];

let running: { endpoint: EntityEndpoint; store: DocumentStore }[] = [];
afterEach(async () => {
  for (const { endpoint, store } of running) {
    await endpoint.stop();
    for (const key of await store.keys(`${endpoint.name}/`)) await store.delete(key);
    await store.close();
  }
  running = [];
});
afterAll(closeEmbeddedDatabase);

async function start(
  open: (db: Database) => Promise<DocumentStore>,
  options: { crashAt?: (step: EntityStep, messageId: string) => boolean; dedupWindowMs?: number; concurrency?: number } = {},
) {
  const resends: string[] = [];
  const db = await freshEmbeddedDatabase();
  await migrate(db);
  const name = `accounts-${randomBytes(4).toString('hex')}`;
  const transport = new TableQueueTransport(db, { visibilityTimeoutMs: 300, pollIntervalMs: 20 });
  await transport.setup([
    { queue: name, commands: ['Deposit'], events: [] },
    { queue: 'sink', commands: ['Credited', 'Receipt'], events: [] },
  ]);
  const store = await open(db);
  const endpoint = new EntityEndpoint(
    name,
    { Deposit: deposit as EntityHandler<unknown, unknown> },
    {
      store,
      transport,
      retry: { immediate: 1, delaysMs: [20, 40] },
      logger: pino({ level: 'silent' }),
      concurrency: options.concurrency ?? 1,
      dedupWindowMs: options.dedupWindowMs ?? 60_000,
      crashAt: options.crashAt ? (step, delivery) => options.crashAt!(step, delivery.messageId) : undefined,
      onResend: (message) => resends.push(message.messageId),
    },
  );
  await endpoint.start();
  running.push({ endpoint, store });
  const send = (messageId: string, body: Deposit) =>
    transport.send(name, { messageId, messageType: 'Deposit', headers: {}, body: JSON.stringify(body) });
  const document = async (account: string) => {
    const stored = await store.get(endpoint.keyOf(account));
    return stored ? (JSON.parse(stored.value) as EntityDocument<Account>) : undefined;
  };
  const sink = async () =>
    (await db.query<{ message_id: string }>("SELECT message_id FROM queue_messages WHERE queue = 'sink' ORDER BY id")).rows.map(
      (r) => r.message_id,
    );
  const settled = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await transport.pending([name])) === 0) return;
      await sleep(50);
    }
    throw new Error(`${name} did not settle`);
  };
  return { name, send, document, sink, settled, resends };
}

const outgoingOf = (endpoint: string, messageId: string) => [
  deterministicMessageId(messageId, endpoint, 'Credited'),
  deterministicMessageId(messageId, endpoint, 'Receipt'),
];

describe.each(stores)('entity endpoint on $name', ({ available, open }) => {
  it.skipIf(!available).each(STEPS)('a crash after "%s" recovers: no duplicate effect, no lost message, no ghost', async (step) => {
    let crashes = 0;
    const system = await start(open, {
      crashAt: (at, messageId) => {
        if (at !== step || messageId !== 'm1' || crashes > 0) return false;
        crashes += 1;
        return true;
      },
    });
    await system.send('m1', { account: 'a', amount: 5 });
    await system.send('m2', { account: 'a', amount: 7 });
    await system.settled();
    expect(crashes).toBe(1);

    const doc = await system.document('a');
    // No duplicate effect: each deposit counted once; nothing left to dispatch.
    expect(doc?.state).toEqual({ balance: 12 });
    expect(Object.keys(doc?.processed ?? {}).sort()).toEqual(['m1', 'm2']);
    expect(doc?.outbox).toEqual({});
    // No lost message and no ghost: the sink holds exactly what the two deposits imply
    // (a crash between a send and the clear re-sends the same ids, which receivers deduplicate).
    const sent = await system.sink();
    const expected = [...outgoingOf(system.name, 'm1'), ...outgoingOf(system.name, 'm2')];
    expect([...new Set(sent)].sort()).toEqual(expected.sort());
    const resent = step === 'sent 1' || step === 'sent 2';
    if (!resent) expect(sent).toHaveLength(expected.length);
    // What the endpoint reports as sent again (the ground truth's duplicate deliveries) is
    // exactly what reached the sink more than once.
    const twice = sent.filter((id, i) => sent.indexOf(id) !== i);
    expect(system.resends.sort()).toEqual(twice.sort());
  });

  it.skipIf(!available)('applies concurrent messages to one entity one after the other (a lost compare-and-set is retried)', async () => {
    const system = await start(open, { concurrency: 4 });
    const amounts = Array.from({ length: 12 }, (_, i) => i + 1);
    await Promise.all(amounts.map((amount) => system.send(`c${amount}`, { account: 'busy', amount })));
    await system.settled();
    const doc = await system.document('busy');
    expect(doc?.state.balance).toBe(amounts.reduce((a, b) => a + b, 0));
    expect(Object.keys(doc?.processed ?? {})).toHaveLength(amounts.length);
    expect(new Set(await system.sink()).size).toBe(amounts.length * 2);
  });

  it.skipIf(!available)('keeps processed ids for the dedup window only: a redelivery after it is applied twice', async () => {
    const system = await start(open, { dedupWindowMs: 100 });
    await system.send('w1', { account: 'w', amount: 5 });
    await system.settled();
    await system.send('w1', { account: 'w', amount: 5 });
    await system.settled();
    expect((await system.document('w'))?.state.balance).toBe(5);
    await sleep(200);
    // The next write prunes w1, so its late redelivery counts again.
    await system.send('w2', { account: 'w', amount: 7 });
    await system.settled();
    await system.send('w1', { account: 'w', amount: 5 });
    await system.settled();
    expect((await system.document('w'))?.state.balance).toBe(17);
  });
});
