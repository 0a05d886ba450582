/**
 * A key-value store with only single-key atomic operations, as the workshop's cloud stores
 * offer: read one document with its version, and replace it only if its version is still the
 * one read (compare-and-set). The entity endpoint (`entity-endpoint.ts`) builds exactly-once
 * processing on nothing more. Two implementations: Redis (real mode) and a table used only
 * through single-row statements (embedded mode).
 */
export interface StoredDocument {
  /** 1 for a document created once; each successful compare-and-set adds one. */
  version: number;
  value: string;
}

export interface DocumentStore {
  get(key: string): Promise<StoredDocument | undefined>;
  /**
   * Writes `value` under `key` if the stored version is `expectedVersion` (0: no document
   * yet). Resolves false, changing nothing, when another writer got there first.
   */
  compareAndSet(key: string, expectedVersion: number, value: string): Promise<boolean>;
  /** Removes a document (clean-up of a finished run). */
  delete(key: string): Promise<void>;
  /** Every key stored under `prefix` (for checking business state after a run). */
  keys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}
