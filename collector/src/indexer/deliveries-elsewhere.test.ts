// The lookup through a store, in both batch orders: collector/test/plain-otel/derived-conversations.int.test.ts.
import { describe, expect, it } from 'vitest';
import { attempt, resetSpanIds, send } from '../../test/span-builders.js';
import type { SpanRow } from '../model/span.js';
import { undeliveredMessageIds } from './deliveries-elsewhere.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

describe('undeliveredMessageIds', () => {
  it.each<[string, () => SpanRow[], string[]]>([
    ['a send with no delivery', () => [send({ service: 'a', messageId: 'm1', messageType: 'T', atMs: T0 })], ['m1']],
    [
      'a delivered send',
      () => {
        const s = send({ service: 'a', messageId: 'm1', messageType: 'T', atMs: T0 });
        return [s, attempt({ parent: s, service: 'b', atMs: T0 + 5 })];
      },
      [],
    ],
    [
      'an outgoing id never delivered',
      () => [attempt({ service: 'b', messageId: 'm0', outcome: 'processed', outgoing: ['m2'], atMs: T0 })],
      ['m2'],
    ],
    ['a delivery without its send', () => [attempt({ service: 'b', messageId: 'm1', atMs: T0 })], []],
  ])('%s', (_name, build, expected) => {
    resetSpanIds();
    expect(undeliveredMessageIds(build())).toEqual(expected);
  });
});
