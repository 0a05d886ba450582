/**
 * Collects claim-check garbage: a blob no committed invoice refers to (written by an attempt
 * that crashed before it could delete it, or by one whose state lost a race) is deleted once
 * it is older than the retention, which leaves an attempt in progress time to commit. The
 * collector runs outside any conversation: each delete names the conversation stored with its
 * blob, so that it joins the flow that wrote the blob (where the collector reports the orphan)
 * instead of vanishing from every flow.
 */
import type { Sql } from './database.js';
import { refOf, type BlobStore, type StoredBlob } from './blob-store.js';

/** The blobs to delete: unreferenced and older than the retention. Pure. */
export function unreferencedBlobs(
  listing: readonly StoredBlob[],
  referenced: ReadonlySet<string>,
  retentionMs: number,
  nowMs: number,
): StoredBlob[] {
  return listing.filter((b) => !referenced.has(refOf(b.key)) && nowMs - b.modifiedMs >= retentionMs);
}

export async function collectUnreferencedBlobs(blobs: BlobStore, db: Sql, retentionMs: number): Promise<string[]> {
  const listing = await blobs.list();
  const { rows } = await db.query<{ blob_ref: string }>('SELECT blob_ref FROM invoices WHERE blob_ref IS NOT NULL');
  const garbage = unreferencedBlobs(listing, new Set(rows.map((r) => r.blob_ref)), retentionMs, Date.now());
  for (const { key, conversationId } of garbage) await blobs.delete(refOf(key), { conversationId });
  return garbage.map((b) => refOf(b.key));
}
