/**
 * Keyset cursor of the flows list, the same for every store: the (start, conversation id) of
 * the last flow of a page, as base64url JSON. Opaque to callers; a store refuses anything it did
 * not issue with an `InvalidCursorError`, which the API answers with 400.
 */
/** A cursor this codec did not issue: the caller's mistake (400), not the store's. */
export class InvalidCursorError extends RangeError {
  constructor() {
    super('invalid cursor: pass back the nextCursor of a previous page');
    this.name = 'InvalidCursorError';
  }
}

export interface FlowCursor {
  startMs: number;
  conversationId: string;
}

export function encodeFlowCursor(cursor: FlowCursor): string {
  return Buffer.from(JSON.stringify([cursor.startMs, cursor.conversationId]), 'utf8').toString('base64url');
}

/** Decodes a cursor from `encodeFlowCursor`; throws on anything else. */
export function decodeFlowCursor(text: string): FlowCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'number' ||
    !Number.isFinite(parsed[0]) ||
    typeof parsed[1] !== 'string'
  ) {
    throw new InvalidCursorError();
  }
  return { startMs: parsed[0], conversationId: parsed[1] };
}
