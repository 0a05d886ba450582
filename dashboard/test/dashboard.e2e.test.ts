/**
 * End-to-end: the production dashboard build, served by a real collector (`createApp` over an
 * in-memory DuckDB store seeded with one conversation per anomaly kind), driven in headless
 * Chromium. Screenshots of each view go to test-artifacts/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, requireChromium } from '@onceflow/test-support';
import { attempt, httpServer, send } from '../../collector/test/span-builders.js';
import { ANOMALY_FLOWS_QUIET_PERIOD_MS, buildAnomalyFlows, type ExpectedFlow } from '../../collector/test/fixtures/anomaly-flows.js';
import { buildDuplicateStorm, CHROMIUM_ARGS, requireDashboardBuild, startSeededCollector, type SeededCollector } from './seeded-collector.js';
import type {} from '../src/components/graph-handles.js';

const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));
const hasChromium = await requireChromium();

describe.skipIf(!hasChromium)('dashboard in a browser', () => {
  const now = Date.now();
  const fixtures = buildAnomalyFlows(now);
  const storm = buildDuplicateStorm(now);
  const flowOf = (name: string): ExpectedFlow => fixtures.expected.find((e) => e.conversationId === `conv-${name}`)!;
  let collector: SeededCollector;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    requireDashboardBuild();
    mkdirSync(SCREENSHOTS, { recursive: true });
    collector = await startSeededCollector([...fixtures.spans, ...storm], { now, quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.close();
  });

  const open = (path: string) => page.goto(`${collector.url}${path}`);
  const shoot = (name: string) => page.screenshot({ path: `${SCREENSHOTS}${name}.png` });
  const graphCounts = (name: string) =>
    page.evaluate((graph) => {
      const cy = window.__onceflowCy?.[graph];
      return cy ? { nodes: cy.nodes().length, edges: cy.edges().length, labels: cy.nodes().map((n) => String(n.data('label'))) } : null;
    }, name);

  it('draws the system map with services, destinations and edges', async () => {
    await open('/');
    await page.waitForSelector('[data-graph="map"][data-ready="true"]');
    const map = await graphCounts('map');
    expect(map!.nodes).toBeGreaterThanOrEqual(6);
    expect(map!.edges).toBeGreaterThanOrEqual(5);
    expect(map!.labels).toEqual(expect.arrayContaining(['shop-api', 'orders', 'billing', 'marketing', 'payments.example']));
    await shoot('system-map');
    expect(pageErrors).toEqual([]);
  });

  it('adds what a live update brings without moving what was already drawn', async () => {
    const positions = () =>
      page.evaluate(() => Object.fromEntries(window.__onceflowCy!.map.nodes().map((n) => [n.id(), { ...n.position() }])));
    const before = await positions();
    // A new consumer appears: billing publishes FraudCheckRequested, fraud-check consumes it.
    const conversationId = 'conv-live-update';
    const http = httpServer({ service: 'shop-api', route: '/orders', atMs: now - 60_000, conversationId });
    const request = send({ parent: http, service: 'billing', messageId: 'live-fraud-1', messageType: 'FraudCheckRequested', destination: 'fraud-checks', atMs: now - 59_000 });
    const check = attempt({ parent: request, service: 'fraud-check', outcome: 'processed', atMs: now - 58_000, durationMs: 12 });
    await collector.store.insertSpans([http, request, check]);
    collector.live.publish('topology', { reason: 'spans arrived' });
    await page.waitForFunction(() => window.__onceflowCy!.map.nodes().some((n) => n.data('label') === 'fraud-check'), undefined, { timeout: 20_000 });
    const after = await positions();
    expect(Object.keys(after).length).toBeGreaterThan(Object.keys(before).length);
    for (const [id, position] of Object.entries(before)) expect(after[id], id).toEqual(position);
    await page.reload();
    await page.waitForSelector('[data-graph="map"][data-ready="true"]');
  });

  it('keeps the map selection in the URL across a reload', async () => {
    await page.evaluate(() => {
      const cy = window.__onceflowCy!.map;
      cy.nodes().filter((n) => n.data('label') === 'marketing')[0].emit('tap');
    });
    await page.waitForSelector('.side-panel');
    expect(new URL(page.url()).searchParams.get('sel')).toBeTruthy();
    await page.reload();
    await page.waitForSelector('[data-graph="map"][data-ready="true"]');
    const title = await page.textContent('.side-panel h2');
    expect(title).toContain('marketing');
    await page.waitForSelector('.side-panel .flow-table tbody tr');
    await shoot('system-map-selection');
  });

  it('opens the flow of a searched message id and flags its duplicate processing', async () => {
    const { messageId } = flowOf('duplicate-processing').flagged.find((f) => f.kind === 'duplicate-processing')!;
    await open('/');
    await page.fill('input[aria-label="Search by id"]', messageId);
    await page.press('input[aria-label="Search by id"]', 'Enter');
    await page.waitForURL((url) => url.pathname === '/flows/conv-duplicate-processing');
    await page.waitForSelector('[data-graph="flow"][data-ready="true"]');
    expect(await page.textContent('[data-testid="message-id"]')).toBe(messageId);
    expect(await page.isVisible('.side-panel [data-flag="duplicate-processing"]')).toBe(true);
    const classes = await page.evaluate((id) => window.__onceflowCy!.flow.getElementById(`m:${id}`).classes(), messageId);
    expect(classes).toContain('flag-duplicate-processing');
    await shoot('flow-detail-duplicate-processing');
  });

  it('marks a lost message in the graph and the timeline', async () => {
    const { messageId } = flowOf('lost').flagged[0];
    const flowRequests: string[] = [];
    const onRequest = (request: { url(): string }) => {
      if (request.url().includes('/api/flows/conv-lost')) flowRequests.push(request.url());
    };
    page.on('request', onRequest);
    await open('/flows/conv-lost');
    await page.waitForSelector('[data-graph="flow"][data-ready="true"]');
    page.off('request', onRequest);
    // index.html's early fetch of the first page is the one the app uses: no second request.
    expect(flowRequests).toHaveLength(1);
    const lost = await page.evaluate((id) => {
      const node = window.__onceflowCy!.flow.getElementById(`m:${id}`);
      return { classes: node.classes(), label: String(node.data('label')) };
    }, messageId);
    expect(lost.classes).toEqual(expect.arrayContaining(['status-lost', 'flag-lost-message']));
    expect(lost.label).toContain('LOST');
    const row = page.locator(`.trow.kind-lost[data-message-id="${messageId}"]`);
    expect(await row.textContent()).toContain('never delivered');
    await row.click();
    await page.waitForSelector('.side-panel [data-flag="lost-message"]');
    await shoot('flow-detail-lost');
  });

  it('filters flows by anomaly kind, with counts per kind, and restores filters on reload', async () => {
    await open('/flows?anomaly=lost-message&completion=incomplete&range=6h');
    await page.waitForSelector('.flow-table tbody tr');
    const ids = await page.locator('.flow-table tbody tr td:nth-child(2) .sub').allTextContents();
    expect(ids).toEqual(['conv-lost']);
    expect(await page.textContent('.anomaly-counts')).toContain('LOST');
    await page.reload();
    await page.waitForSelector('.flow-table tbody tr');
    expect(await page.inputValue('select[aria-label="Anomaly kind"]')).toBe('lost-message');
    expect(await page.inputValue('select[aria-label="Completion"]')).toBe('incomplete');
    expect(await page.textContent('.window-picker button.active')).toBe('6h');
    await page.selectOption('select[aria-label="Anomaly kind"]', 'duplicate-processing');
    await page.selectOption('select[aria-label="Completion"]', '');
    await page.waitForFunction(() => new URL(window.location.href).searchParams.get('anomaly') === 'duplicate-processing');
    await page.waitForFunction(() => document.querySelectorAll('.flow-table tbody tr').length === 1 && document.body.textContent!.includes('conv-dup'));
    await open('/flows');
    await page.waitForSelector('.flow-table tbody tr');
    await shoot('flows');
  });

  it('renders trend charts with points', async () => {
    await open('/trends');
    await page.waitForSelector('.recharts-line-curve');
    const paths = await page.locator('[data-chart^="Throughput"] .recharts-line-curve').evaluateAll((els) => els.map((el) => el.getAttribute('d') ?? ''));
    expect(paths.length).toBe(2);
    // A drawn line has many segments: one per bucket.
    expect(paths[0].split('L').length).toBeGreaterThan(10);
    await shoot('trends');
    // Dragging across a chart picks that window and opens Investigate on it.
    const box = (await page.locator('[data-chart^="Throughput"] .recharts-wrapper').first().boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 8 });
    await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.5, { steps: 8 });
    await page.mouse.up();
    await page.waitForURL((url) => url.pathname === '/investigate');
    const params = new URL(page.url()).searchParams;
    const from = Number(params.get('from'));
    const to = Number(params.get('to'));
    expect(to).toBeGreaterThan(from);
    expect(from).toBeGreaterThan(now - 3_600_000);
    expect(to - from).toBeLessThan(3_600_000 * 0.6);
    await page.waitForSelector('table.changes tbody tr, .state-empty');
  });

  it('shows duplicates against duplicate processings, and the investigation of a window', async () => {
    await open('/storms');
    await page.waitForSelector('[data-chart^="Duplicate deliveries"] .recharts-line-curve');
    // The storm episode is listed with its top key and shaded on the duplicates chart.
    await page.waitForSelector('table.storms tbody tr');
    const episode = await page.textContent('table.storms tbody tr');
    expect(episode).toContain('marketing');
    expect(episode).toContain('storm-order-billed');
    expect(await page.locator('[data-chart^="Duplicate deliveries"] .recharts-reference-area').count()).toBeGreaterThan(0);
    await shoot('duplicates-and-storms');
    await open(`/investigate?from=${now - 45 * 60_000}&to=${now}`);
    await page.waitForSelector('table.changes tbody tr');
    expect(await page.textContent('table.changes')).toContain('Processed');
    await page.reload();
    await page.waitForSelector('table.changes tbody tr');
    expect(new URL(page.url()).searchParams.get('from')).toBe(String(now - 45 * 60_000));
    await shoot('investigate');
  });

  it('lists instrumentation coverage per service, with the verdicts each makes unknown', async () => {
    await open('/coverage');
    await page.waitForSelector('table.coverage tbody tr');
    const table = (await page.textContent('table.coverage'))!;
    for (const service of new Set(fixtures.spans.map((span) => span.service))) expect(table).toContain(service);
    // The fixture sends carry no body digest: every sending service leaves consistent output unknown.
    expect(table).toContain('consistent output');
    expect(await page.locator('table.coverage tr.coverage-endpoint').count()).toBeGreaterThan(0);
    await shoot('coverage');
  });

  it('says so when the collector API is unreachable', async () => {
    const context = await browser.newContext();
    const offline = await context.newPage();
    await offline.route('**/api/**', (route) => route.abort('connectionrefused'));
    await offline.goto(`${collector.url}/`);
    await offline.waitForSelector('.state-error', { timeout: 15_000 });
    expect(await offline.textContent('.state-error')).toContain('unreachable');
    await context.close();
  });

  it('names the endpoint and the field when the collector answers an unexpected shape', async () => {
    const context = await browser.newContext();
    const drifted = await context.newPage();
    // The real collector's answer with one field changed, as a collector of another version might send it.
    await drifted.route('**/api/flows?*', async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.flows[0].state = 'finished';
      await route.fulfill({ response, json: body });
    });
    await drifted.goto(`${collector.url}/flows`);
    await drifted.waitForSelector('.state-error', { timeout: 15_000 });
    const text = await drifted.textContent('.state-error');
    expect(text).toContain('The collector answered /api/flows with an unexpected shape');
    expect(text).toContain('flows.0.state');
    await context.close();
  });
});

describe.skipIf(!hasChromium)('dashboard on an empty store', () => {
  it('explains how to send data', async () => {
    requireDashboardBuild();
    const collector = await startSeededCollector([], { now: Date.now(), quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS });
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(`${collector.url}/`);
      await page.waitForSelector('.state-empty');
      const text = await page.textContent('.state-empty');
      expect(text).toContain('http://localhost:4318/v1/traces');
      expect(text).toContain('npm start');
    } finally {
      await browser.close();
      await collector.close();
    }
  });
});
