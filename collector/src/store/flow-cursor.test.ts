import { describe, expect, it } from 'vitest';
import { InvalidCursorError, decodeFlowCursor, encodeFlowCursor } from './flow-cursor.js';

describe('flow cursor', () => {
  it('decodes what it encoded', () => {
    const cursor = { startMs: 1_767_000_000_123, conversationId: 'conv-"7' };
    expect(decodeFlowCursor(encodeFlowCursor(cursor))).toEqual(cursor);
  });

  it.each([
    ['not base64 JSON', 'not-a-cursor'],
    ['a wrong shape', Buffer.from('[1,2]').toString('base64url')],
    ['a non-finite start', Buffer.from('[null,"c"]').toString('base64url')],
    ['empty text', ''],
  ])('refuses %s with InvalidCursorError', (_, text) => {
    expect(() => decodeFlowCursor(text)).toThrow(InvalidCursorError);
  });
});
