import { describe, expect, it } from 'vitest';
import { refOf } from './blob-store.js';
import { unreferencedBlobs } from './blob-collector.js';

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
    expect(unreferencedBlobs(listing, new Set(referenced.map(refOf)), 60_000, now)).toEqual(garbage.map(refOf));
  });
});
