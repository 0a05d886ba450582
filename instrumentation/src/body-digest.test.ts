import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BODY_DIGEST_MAX_BYTES, digestBody, type DigestSettings } from './body-digest.js';

const on: DigestSettings = { enabled: true, maxBytes: DEFAULT_BODY_DIGEST_MAX_BYTES };

describe('digestBody', () => {
  it('is sha256: + the first 32 hex characters of the SHA-256 of the bytes', () => {
    const body = Buffer.from('{"order":1}');
    const expected = 'sha256:' + createHash('sha256').update(body).digest('hex').slice(0, 32);
    expect(digestBody(body, on)).toBe(expected);
    expect(digestBody(body, on)).toMatch(/^sha256:[0-9a-f]{32}$/);
  });

  it.each([
    ['equal bodies', Buffer.from('{"amount":10}'), Buffer.from('{"amount":10}'), true],
    ['a string and its UTF-8 bytes', 'Grüße', Buffer.from('Grüße', 'utf8'), true],
    ['bodies differing in one byte', Buffer.from('{"amount":10}'), Buffer.from('{"amount":11}'), false],
    ['an empty body and a space', Buffer.alloc(0), ' ', false],
  ])('%s: same digest = %s', (_name, a, b, same) => {
    expect(digestBody(a, on) === digestBody(b, on)).toBe(same);
  });

  it.each([
    ['at the limit', 1024, 1024, true],
    ['one byte above the limit', 1025, 1024, false],
    ['the default limit (256 KiB)', DEFAULT_BODY_DIGEST_MAX_BYTES, DEFAULT_BODY_DIGEST_MAX_BYTES, true],
    ['above the default limit', DEFAULT_BODY_DIGEST_MAX_BYTES + 1, DEFAULT_BODY_DIGEST_MAX_BYTES, false],
  ])('%s: digested = %s', (_name, size, maxBytes, digested) => {
    expect(digestBody(Buffer.alloc(size, 7), { enabled: true, maxBytes }) !== undefined).toBe(digested);
  });

  it('measures a string limit in UTF-8 bytes, not characters', () => {
    expect(digestBody('ü'.repeat(600), { enabled: true, maxBytes: 1000 })).toBeUndefined();
    expect(digestBody('u'.repeat(600), { enabled: true, maxBytes: 1000 })).toBeDefined();
  });

  it('is absent when turned off', () => {
    expect(digestBody(Buffer.from('x'), { enabled: false, maxBytes: DEFAULT_BODY_DIGEST_MAX_BYTES })).toBeUndefined();
  });
});
