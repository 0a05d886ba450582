/**
 * End-to-end, in headless Chromium against the production build: the dashboard runs under
 * the collector's content security policy (no violation reported while it loads and draws,
 * including the inline prefetch on a flow page), and against a collector started with an API
 * token it asks for the token, keeps it in sessionStorage, and loads data and the live stream
 * with it.
 */
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, requireChromium } from '@onceflow/test-support';
import { ANOMALY_FLOWS_QUIET_PERIOD_MS, buildAnomalyFlows } from '../../collector/test/fixtures/anomaly-flows.js';
import { CHROMIUM_ARGS, requireDashboardBuild, startSeededCollector, type SeededCollector } from './seeded-collector.js';

const hasChromium = await requireChromium();
const API_TOKEN = 'dashboard-e2e-token-0123456789';

describe.skipIf(!hasChromium)('dashboard security in a browser', () => {
  const now = Date.now();
  const fixtures = buildAnomalyFlows(now);
  let open: SeededCollector;
  let guarded: SeededCollector;
  let browser: Browser;

  beforeAll(async () => {
    requireDashboardBuild();
    open = await startSeededCollector(fixtures.spans, { now, quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS });
    guarded = await startSeededCollector(fixtures.spans, { now, quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS, apiToken: API_TOKEN });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await open?.close();
    await guarded?.close();
  });

  async function newPage(): Promise<{ page: Page; violations: string[]; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const violations: string[] = [];
    const errors: string[] = [];
    page.on('console', (message: ConsoleMessage) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    return { page, violations, errors };
  }

  it('loads and draws every view under the content security policy', async () => {
    const { page, violations, errors } = await newPage();
    const response = await page.goto(`${open.url}/`);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response?.headers()['x-content-type-options']).toBe('nosniff');
    await page.waitForSelector('[data-graph="map"][data-ready="true"]');
    await page.goto(`${open.url}/flows`);
    await page.waitForSelector('.flow-table, table, [role="table"]');
    // A flow page runs index.html's inline prefetch script, allowed by its hash.
    const prefetched = page.waitForRequest((request) => request.url().includes('/api/flows/conv-') && request.url().includes('offset=0'));
    await page.goto(`${open.url}/flows/${fixtures.expected[0].conversationId}`);
    await prefetched;
    await page.waitForLoadState('networkidle');
    expect(violations).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses to be framed', async () => {
    const { page } = await newPage();
    await page.setContent(`<iframe src="${open.url}/"></iframe>`);
    await page.waitForTimeout(1000);
    const framed = page.frames().find((frame) => frame.url().startsWith(open.url));
    expect(framed ? await framed.$('#root').catch(() => null) : null).toBeNull();
    await page.close();
  });

  it('asks for the API token, keeps it for the session, and loads data and the live stream with it', async () => {
    const { page, violations, errors } = await newPage();
    await page.goto(`${guarded.url}/flows`);
    const prompt = page.getByRole('dialog');
    await prompt.waitFor();
    expect(await prompt.textContent()).toContain('requires the API token');
    await page.fill('.token-prompt input', 'wrong-token-0123456789');
    await page.click('.token-prompt button');
    await page.waitForFunction(() => document.querySelector('.token-prompt')?.textContent?.includes('does not match'));
    await page.fill('.token-prompt input', API_TOKEN);
    await page.click('.token-prompt button');
    await page.waitForSelector('.token-prompt', { state: 'detached' });
    await page.waitForFunction(() => document.querySelector('.collector-status.up')?.textContent?.includes('live'));
    expect(await page.evaluate(() => sessionStorage.getItem('onceflow.apiToken'))).toBe(API_TOKEN);
    // A reload in the same tab needs no prompt.
    await page.reload();
    await page.waitForFunction(() => document.querySelector('.collector-status.up')?.textContent?.includes('spans'));
    expect(await page.$('.token-prompt')).toBeNull();
    expect(violations).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
