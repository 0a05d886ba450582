import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TRACER_NAME, TRACER_VERSION } from './tracer.js';

describe('tracer identity', () => {
  it('names the tracer after the package and versions it from package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    expect(TRACER_NAME).toBe(pkg.name);
    expect(TRACER_VERSION).toBe(pkg.version);
  });
});
