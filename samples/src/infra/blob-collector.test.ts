import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_BLOB_OPERATION, ATTR_MESSAGING_CONVERSATION_ID, ATTR_PAYLOAD_REF } from '@onceflow/instrumentation/semconv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileBlobStore, refOf } from './blob-store.js';
import { collectUnreferencedBlobs, unreferencedBlobs } from './blob-collector.js';
import { tracedBlobStore } from './traced-blob-store.js';

describe('unreferencedBlobs', () => {
  const now = 100_000;
  it.each([
    { name: 'referenced blobs stay, however old', listing: [{ key: 'a', modifiedMs: 0 }], referenced: ['a'], garbage: [] },
    {
      name: 'an unreferenced blob past the retention goes',
      listing: [{ key: 'b', modifiedMs: now - 60_000 }],
      referenced: [],
      garbage: ['b'],
    },
    {
      name: 'an unreferenced blob inside the retention stays (its attempt may still commit)',
      listing: [{ key: 'c', modifiedMs: now - 59_999 }],
      referenced: [],
      garbage: [],
    },
    {
      name: 'mixed',
      listing: [
        { key: 'a', modifiedMs: 0 },
        { key: 'b', modifiedMs: 0 },
        { key: 'c', modifiedMs: now },
      ],
      referenced: ['a'],
      garbage: ['b'],
    },
  ])('$name', ({ listing, referenced, garbage }) => {
    expect(unreferencedBlobs(listing, new Set(referenced.map(refOf)), 60_000, now).map((b) => b.key)).toEqual(garbage);
  });
});

describe('collectUnreferencedBlobs', () => {
  const exporter = new InMemorySpanExporter();
  let dir: string;
  beforeAll(async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    dir = await mkdtemp(join(tmpdir(), 'onceflow-blob-collector-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('deletes garbage in the conversation stored with each blob (it runs outside any), and keeps what is referenced', async () => {
    const blobs = tracedBlobStore(createFileBlobStore(dir));
    const orphan = await blobs.put('invoice-1-a1', Buffer.from('left behind by an aborted attempt'), { conversationId: 'conv-1' });
    const anonymous = await blobs.put('stray', Buffer.from('written outside any conversation'));
    const kept = await blobs.put('invoice-1-a2', Buffer.from('the committed invoice'), { conversationId: 'conv-1' });
    expect(await blobs.list()).toEqual([
      { key: 'invoice-1-a1', modifiedMs: expect.any(Number), conversationId: 'conv-1' },
      { key: 'invoice-1-a2', modifiedMs: expect.any(Number), conversationId: 'conv-1' },
      { key: 'stray', modifiedMs: expect.any(Number) },
    ]);
    exporter.reset();
    const db = { query: async <T>() => ({ rows: [{ blob_ref: kept }] as T[] }) };

    expect(await collectUnreferencedBlobs(blobs, db, 0)).toEqual([orphan, anonymous]);

    const deletes = exporter.getFinishedSpans().filter((s) => s.attributes[ATTR_BLOB_OPERATION] === 'delete');
    expect(deletes.map((s) => [s.attributes[ATTR_PAYLOAD_REF], s.attributes[ATTR_MESSAGING_CONVERSATION_ID]])).toEqual([
      [orphan, 'conv-1'],
      [anonymous, undefined],
    ]);
    expect((await blobs.list()).map((b) => refOf(b.key))).toEqual([kept]);
  });
});
