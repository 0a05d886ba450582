import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FRAMEWORK_ATTRIBUTES, KAFKA_OFFSET_KEYS, KAFKA_PARTITION_KEYS } from './framework-attributes.js';

const conventions = readFileSync(new URL('../../../docs/conventions.md', import.meta.url), 'utf8');

describe('framework attribute table', () => {
  it('has one entry per key', () => {
    const keys = FRAMEWORK_ATTRIBUTES.map((entry) => entry.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('is documented in docs/conventions.md, key by key', () => {
    const undocumented = [...FRAMEWORK_ATTRIBUTES.map((entry) => entry.key), ...KAFKA_PARTITION_KEYS, ...KAFKA_OFFSET_KEYS]
      // Captured headers are documented by the header names they come from.
      .map((key) => (key.startsWith('messaging.header.') ? key.slice('messaging.header.'.length).replaceAll('_', '-') : key))
      .filter((name) => !conventions.includes(name));
    expect(undocumented).toEqual([]);
  });
});
