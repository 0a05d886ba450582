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
import { buildStormTraffic } from './storm-traffic.js';
import { ANOMALY_FLOWS_QUIET_PERIOD_MS, buildAnomalyFlows, type ExpectedFlow } from '../../collector/test/fixtures/anomaly-flows.js';
import { CHROMIUM_ARGS, requireDashboardBuild, startSeededCollector, type SeededCollector } from './seeded-collector.js';
import type {} from '../src/components/graph-handles.js';

const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));
const hasChromium = await requireChromium();

describe.skipIf(!hasChromium)('dashboard in a browser', () => {
  const now = Date.now();
  const fixtures = buildAnomalyFlows(now);
  const storm = buildStormTraffic(now);
  const flowOf = (name: string): ExpectedFlow => fixtures.expected.find((e) => e.conversationId === `conv-${name}`)!;
  let collector: SeededCollector;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    requireDashboardBuild();
    mkdirSync(SCREENSHOTS, { recursive: true });
    collector = await startSeededCollector([...fixtures.spans, ...storm.spans], { now, quietPeriodMs: ANOMALY_FLOWS_QUIET_PERIOD_MS });
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

  it('draws only edge labels that cover no node and no other label, and shows the rest on hover', async () => {
    const drawn = await page.evaluate(() => {
      const cy = window.__onceflowCy!.map;
      const labelOnly = {
        includeNodes: false,
        includeEdges: false,
        includeLabels: true,
        includeMainLabels: true,
        includeSourceLabels: false,
        includeTargetLabels: false,
        includeOverlays: false,
      };
      const edges = cy.edges().filter((e) => String(e.style('label')) !== '');
      return {
        labels: edges.map((e) => ({ id: e.id(), text: String(e.style('label')), ...e.renderedBoundingBox(labelOnly) })),
        nodes: cy.nodes().map((n) => ({ id: n.id(), ...n.renderedBoundingBox({ includeLabels: false, includeOverlays: false }) })),
        hidden: cy.edges('.label-hidden').map((e) => e.id()),
      };
    });
    const intersect = (a: { x1: number; x2: number; y1: number; y2: number }, b: typeof a) =>
      a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
    expect(drawn.labels.length).toBeGreaterThanOrEqual(5);
    for (const label of drawn.labels) {
      // One figure per edge: a rate, or the problem that colours it.
      expect(label.text.split(' · ').length, label.text).toBe(1);
      for (const node of drawn.nodes) expect(intersect(label, node), `${label.text} covers ${node.id}`).toBe(false);
      for (const other of drawn.labels) if (other !== label) expect(intersect(label, other), `${label.text} / ${other.text}`).toBe(false);
    }
    const edgeId = drawn.hidden[0] ?? drawn.labels[0].id;
    const hovered = await page.evaluate((id) => {
      const edge = window.__onceflowCy!.map.getElementById(id);
      edge.emit('mouseover');
      const label = String(edge.style('label'));
      edge.emit('mouseout');
      return { label, detail: String(edge.data('detail')) };
    }, edgeId);
    expect(hovered.label).toBe(hovered.detail);
  });

  it('adds what a live update brings without moving what was already drawn', async () => {
    const positions = () =>
      page.evaluate(() => Object.fromEntries(window.__onceflowCy!.map.nodes().map((n) => [n.id(), { ...n.position() }])));
    const before = await positions();
    // A new consumer appears: billing publishes FraudCheckRequested, fraud-check consumes it.
    const conversationId = 'conv-live-update';
    const http = httpServer({ service: 'shop-api', route: '/orders', atMs: now - 60_000, conversationId });
    const request = send({
      parent: http,
      service: 'billing',
      messageId: 'live-fraud-1',
      messageType: 'FraudCheckRequested',
      destination: 'fraud-checks',
      atMs: now - 59_000,
    });
    const check = attempt({ parent: request, service: 'fraud-check', outcome: 'processed', atMs: now - 58_000, durationMs: 12 });
    await collector.store.insertSpans([http, request, check]);
    collector.live.publish('topology', { reason: 'spans arrived' });
    await page.waitForFunction(() => window.__onceflowCy!.map.nodes().some((n) => n.data('label') === 'fraud-check'), undefined, {
      timeout: 20_000,
    });
    const after = await positions();
    expect(Object.keys(after).length).toBeGreaterThan(Object.keys(before).length);
    for (const [id, position] of Object.entries(before)) expect(after[id], id).toEqual(position);
    await page.reload();
    await page.waitForSelector('[data-graph="map"][data-ready="true"]');
  });

  it('keeps the map selection in the URL across a reload', async () => {
    await page.evaluate(() => {
      const cy = window.__onceflowCy!.map;
      cy.nodes()
        .filter((n) => n.data('label') === 'marketing')[0]
        .emit('tap');
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
    // The ledger at the top says which invariant broke, and that the others held.
    expect(await page.textContent('[data-testid="ledger"] .ledger-title')).toContain('violated');
    expect(await page.textContent('[data-testid="ledger-noLost"]')).toMatch(/^violated No lost messages — lost-message: /);
    expect(await page.textContent('[data-testid="ledger-noDuplicateProcessing"]')).toBe('held No duplicate processing');
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
    await page.waitForFunction(
      () => document.querySelectorAll('.flow-table tbody tr').length === 1 && document.body.textContent!.includes('conv-dup'),
    );
    await open('/flows');
    await page.waitForSelector('.flow-table tbody tr');
    await shoot('flows');
  });

  it('renders trend charts with points', async () => {
    await open('/trends');
    await page.waitForSelector('.recharts-line-curve');
    const paths = await page
      .locator('[data-chart^="Throughput"] .recharts-line-curve')
      .evaluateAll((els) => els.map((el) => el.getAttribute('d') ?? ''));
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

  it('shows storm episodes as bands whose labels never overlap, ranked in a table', async () => {
    await open('/storms');
    await page.waitForSelector('[data-chart^="Duplicate deliveries"] .recharts-line-curve');
    await page.waitForSelector('table.storms tbody tr');
    const episodes = await page.locator('table.storms tbody tr').allTextContents();
    expect(episodes.some((row) => row.includes('marketing') && row.includes(storm.marketingStorm.messageId))).toBe(true);
    // Four duplicate bursts within three minutes and one retry burst; the calm traffic around them is no storm.
    expect(episodes).toHaveLength(5);
    const duplicateBands = page.locator('[data-chart^="Duplicate deliveries"] rect.chart-band');
    await duplicateBands.first().waitFor();
    expect(await duplicateBands.count()).toBe(4);
    const labels = await page.locator('g.chart-band-label').evaluateAll((nodes) =>
      nodes.map((node) => {
        const box = node.querySelector('rect')!.getBoundingClientRect();
        return { id: node.getAttribute('data-band')!, left: box.left, right: box.right, top: box.top, bottom: box.bottom };
      }),
    );
    // Every band of the close bursts is labelled, in more than one lane, and no two labels intersect.
    expect(labels.length).toBe(5);
    expect(new Set(labels.map((label) => label.top)).size).toBeGreaterThan(1);
    for (const a of labels) {
      for (const b of labels) {
        if (a === b) continue;
        const intersect = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        expect(intersect, `${a.id} overlaps ${b.id}`).toBe(false);
      }
    }
    await shoot('duplicates-and-storms');
  });

  it('names a storm band on hover and opens the flows of that episode on click', async () => {
    await open('/storms');
    const marketingId = await page.locator('table.storms tbody tr', { hasText: 'marketing' }).getAttribute('data-storm');
    const band = page.locator(`[data-chart^="Duplicate deliveries"] rect.chart-band[data-band="${marketingId}"]`);
    await band.hover({ force: true });
    await page.waitForFunction(() =>
      document.querySelector('[data-chart^="Duplicate deliveries"] .band-hover')?.textContent?.includes('marketing'),
    );
    expect(await page.textContent('[data-chart^="Duplicate deliveries"] .band-hover')).toContain('OrderBilled');
    await band.click({ force: true });
    await page.waitForURL((url) => url.pathname === '/flows');
    const params = new URL(page.url()).searchParams;
    expect(Object.fromEntries(['service', 'messageType', 'anomaly'].map((key) => [key, params.get(key)]))).toEqual({
      service: 'marketing',
      messageType: 'OrderBilled',
      anomaly: 'duplicate-delivery',
    });
    expect(Number(params.get('from'))).toBeLessThanOrEqual(storm.marketingStorm.startMs);
    expect(Number(params.get('to'))).toBeGreaterThan(storm.marketingStorm.startMs);
    await page.waitForSelector('.flow-table tbody tr');
    const conversations = await page.locator('.flow-table tbody tr td:nth-child(2) .sub').allTextContents();
    expect(conversations).toContain(storm.marketingStorm.conversationId);
  });

  it('opens the investigation of a window', async () => {
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
    expect(table).toContain('Lost at export');
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
