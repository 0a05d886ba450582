/**
 * Tokens and security headers on a running collector (`startCollector`, embedded store, both
 * servers listening on loopback): OTLP with `--ingest-token`, the API with `--api-token`,
 * the live stream's `?token=`, and the headers every response of the API server carries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from '../app.js';
import { DEFAULT_CONFIG } from '../config.js';
import { silentLogger } from '../logger.js';
import { bearerToken, checkToken, tokenMatches } from './bearer-auth.js';
import { contentSecurityPolicy, inlineScriptHashes } from './security-headers.js';

const INGEST_TOKEN = 'ingest-0123456789abcdef';
const API_TOKEN = 'api-0123456789abcdef';
const dataDir = mkdtempSync(join(tmpdir(), 'onceflow-auth-'));
let collector: RunningCollector;

beforeAll(async () => {
  collector = await startCollector(
    { ...DEFAULT_CONFIG, port: 0, otlpPort: 0, dataDir, retentionMs: 0, ingestToken: INGEST_TOKEN, apiToken: API_TOKEN },
    { logger: silentLogger() },
  );
});

afterAll(async () => {
  await collector?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const emptyExport = JSON.stringify({ resourceSpans: [] });

describe('tokens', () => {
  it.each([
    ['no token', {}, 401, /requires the ingest token/],
    ['a wrong token', bearer('ingest-0123456789abcdeX'), 403, /ingest token sent does not match/],
    ['the API token', bearer(API_TOKEN), 403, /does not match/],
    ['a token that is a prefix', bearer('ingest-0123'), 403, /does not match/],
    ['another scheme', { authorization: `Basic ${INGEST_TOKEN}` }, 401, /requires the ingest token/],
  ])('OTLP with %s → %i, nothing stored', async (_label, headers, status, message) => {
    const before = await collector.store.spanCount();
    const response = await fetch(`${collector.otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: emptyExport,
    });
    expect(response.status).toBe(status);
    expect(((await response.json()) as { message: string }).message).toMatch(message);
    expect(await collector.store.spanCount()).toBe(before);
  });

  it('OTLP with the ingest token → 200', async () => {
    const response = await fetch(`${collector.otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(INGEST_TOKEN) },
      body: emptyExport,
    });
    expect(response.status).toBe(200);
  });

  it.each([
    ['no token', {}, 401],
    ['a wrong token', bearer('api-0123456789abcdeX'), 403],
    ['the ingest token', bearer(INGEST_TOKEN), 403],
    ['the right token', bearer(API_TOKEN), 200],
  ])('API with %s → %i', async (_label, headers, status) => {
    for (const path of ['/api/health', '/api/flows', '/api/anomalies']) {
      const response = await fetch(`${collector.apiUrl}${path}`, { headers });
      expect(response.status).toBe(status);
      if (status === 401) expect(response.headers.get('www-authenticate')).toBe('Bearer realm="onceflow"');
    }
  });

  it('accepts ?token= on the live stream only', async () => {
    const live = await fetch(`${collector.apiUrl}/api/live?token=${API_TOKEN}`);
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toContain('text/event-stream');
    await live.body?.cancel();
    expect((await fetch(`${collector.apiUrl}/api/live?token=wrong-token-0123456789`)).status).toBe(403);
    expect((await fetch(`${collector.apiUrl}/api/live`)).status).toBe(401);
    expect((await fetch(`${collector.apiUrl}/api/flows?token=${API_TOKEN}`)).status).toBe(401);
  });

  it('reports the ingest log in /api/health', async () => {
    const health = (await (await fetch(`${collector.apiUrl}/api/health`, { headers: bearer(API_TOKEN) })).json()) as { ingest: unknown };
    expect(health.ingest).toEqual({
      lagBytes: 0,
      lagSpans: 0,
      oldestUnstoredAgeMs: 0,
      spoolMaxBytes: DEFAULT_CONFIG.spoolMaxBytes,
      storeError: null,
      behind: false,
    });
  });
});

describe('security headers', () => {
  it.each(['/', '/api/health', '/api/flows', '/some/dashboard/route'])('on %s', async (path) => {
    const response = await fetch(`${collector.apiUrl}${path}`);
    expect(response.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('inline script hashes', () => {
  it('hashes each inline script of a page, not the external ones', () => {
    const html = '<head><script>var a = 1;</script><script type="module" src="/main.js"></script><SCRIPT defer>\n b()\n</SCRIPT></head>';
    // echo -n 'var a = 1;' | openssl dgst -sha256 -binary | base64
    expect(inlineScriptHashes(html)).toEqual([
      "'sha256-+dZ6udsWxNVoGfScAq7t5IIF5UJb4F6RhjbN6oe1p4w='",
      expect.stringMatching(/^'sha256-[A-Za-z0-9+/]{43}='$/),
    ]);
    expect(contentSecurityPolicy(inlineScriptHashes(html))).toContain(
      "script-src 'self' 'sha256-+dZ6udsWxNVoGfScAq7t5IIF5UJb4F6RhjbN6oe1p4w='",
    );
  });
});

describe('token checks', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer  abc ', 'abc'],
    ['Bearer', null],
    ['Bearer a b', null],
    ['Basic abc', null],
    [undefined, null],
  ])('bearerToken(%j) = %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it('compares tokens of any length without throwing', () => {
    expect(tokenMatches('a', 'a'.repeat(100))).toBe(false);
    expect(tokenMatches('x'.repeat(100), 'x'.repeat(100))).toBe(true);
    expect(checkToken(null, 'secret', 'API token')?.statusCode).toBe(401);
    expect(checkToken('other', 'secret', 'API token')?.statusCode).toBe(403);
    expect(checkToken('secret', 'secret', 'API token')).toBeNull();
  });
});
