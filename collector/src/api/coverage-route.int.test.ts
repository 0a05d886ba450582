/**
 * `GET /api/coverage` over the coverage fixture (a fully instrumented service and a legacy one,
 * see `test/fixtures/coverage-fixtures.ts`) on the DuckDB store and (when the server is
 * reachable; required in CI) the ClickHouse store: the same answer from both, the legacy
 * service first with the verdicts it makes unknown, and the window parameters validated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COVERAGE_SPANS, COVERAGE_T0, COVERAGE_WINDOW } from '../../test/fixtures/coverage-fixtures.js';
import { indexedApp, storesUnderTest, type IndexedApp } from '../../test/api-stores.js';
import type { Coverage } from '../contract/index.js';

const NOW = COVERAGE_T0 + 2 * 3_600_000;

describe.each(await storesUnderTest())('GET /api/coverage on the $name store', ({ enabled, open }) => {
  let loaded: IndexedApp;

  beforeAll(async () => {
    if (enabled) loaded = await indexedApp(open(), COVERAGE_SPANS, { now: NOW, quietPeriodMs: 30_000 });
  });

  afterAll(async () => {
    await loaded?.close();
  });

  const get = async (url: string) => loaded.app.inject({ method: 'GET', url });

  it.skipIf(!enabled)('lists the legacy service first, with what it makes unknown, then the instrumented one', async () => {
    const response = await get(`/api/coverage?from=${COVERAGE_WINDOW.fromMs}&to=${COVERAGE_WINDOW.toMs}`);
    expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
    const coverage = response.json<Coverage>();
    expect(coverage).toMatchObject(COVERAGE_WINDOW);
    expect(coverage.services.map((s) => s.service)).toEqual(['legacy', 'billing']);
    const [legacy, billing] = coverage.services;
    expect(legacy.unknownVerdicts.map((v) => v.invariant)).toEqual(['noDuplicateProcessing', 'noGhost', 'noLost', 'consistentOutput']);
    expect(legacy.unknownVerdicts[2].reason).toBe(
      '1 of 1 send and 1 of 2 attempts carry no message id: a delivery cannot be matched to its send',
    );
    expect(legacy).toMatchObject({ spans: 3, attempts: 2, outcomeShare: 0, commitShare: null, digestShare: 0 });
    expect(billing).toMatchObject({
      spans: 5,
      messageIdShare: 0.8,
      outcomeShare: 1,
      commitShare: 0.5,
      digestShare: 1,
      unknownVerdicts: [],
    });
    expect(billing.endpoints.map((e) => [e.endpoint, e.attempts, e.commitShare])).toEqual([
      ['billing/orders', 2, 1],
      ['billing/refunds', 1, 0],
    ]);
  });

  it.skipIf(!enabled)('is empty for a window without spans, and rejects a malformed window', async () => {
    const empty = await get(`/api/coverage?from=${COVERAGE_T0 - 7_200_000}&to=${COVERAGE_T0 - 3_700_000}`);
    expect(empty.json<Coverage>().services).toEqual([]);
    const bad = await get('/api/coverage?from=yesterday');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ parameter: 'from' });
  });
});
