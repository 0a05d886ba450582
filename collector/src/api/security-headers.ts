/**
 * Security headers on every response of the API and dashboard server: a content security
 * policy that lets the dashboard load only its own scripts, styles and API (no framing),
 * nosniff, and no referrer. The built index.html carries one inline script (the early fetch
 * of a flow's first page); it is allowed by its SHA-256 hash, computed from the file served,
 * so no other inline script runs. Inline styles are allowed because the graph and chart
 * libraries set element styles.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** `'sha256-…'` sources for each inline `<script>` (one without `src`) of an HTML page. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const match of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([^]*?)<\/script>/gi)) {
    hashes.push(`'sha256-${createHash('sha256').update(match[1], 'utf8').digest('base64')}'`);
  }
  return hashes;
}

export function contentSecurityPolicy(scriptHashes: string[] = []): string {
  return [
    "default-src 'self'",
    ["script-src 'self'", ...scriptHashes].join(' '),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function securityHeaders(scriptHashes: string[] = []): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(scriptHashes),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

/** `scriptHashes`: from `inlineScriptHashes` of the dashboard's index.html. */
export function installSecurityHeaders(app: FastifyInstance, scriptHashes: string[] = []): void {
  const headers = securityHeaders(scriptHashes);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(headers);
    return payload;
  });
}
