/**
 * HTTP propagation through the real instrumentations: an express edge serving a request
 * calls a downstream server with fetch (undici) and with node's http client; a message
 * handler calls it too. The downstream server echoes the headers it received.
 *
 * express and node:http are loaded through `createRequire`, after the SDK started (the
 * CommonJS hook is what OpenTelemetry patches with; fetch is traced via diagnostics_channel).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTR_CAUSATION_ID,
  ATTR_IDEMPOTENCY_KEY,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_PEER_SERVICE,
  HEADER_CAUSATION_ID,
  HEADER_CONVERSATION_ID,
  HEADER_IDEMPOTENCY_KEY,
  HEADER_MESSAGE_ID,
  HEADER_SERVICE,
  currentConversationId,
  startOnceflow,
  withHandle,
  withSend,
} from './index.js';

const exporter = new InMemorySpanExporter();
const onceflow = startOnceflow({ serviceName: 'onceflow-http-test', exporter });
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');
const express = require('express') as typeof import('express');

const str = (span: ReadableSpan, key: string) => span.attributes[key] as string | undefined;

// After every describe block below (each sends spans through this one SDK).
afterAll(() => onceflow.shutdown());

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

function httpGet(url: string, headers: Record<string, string> = {}): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body) as IncomingHttpHeaders));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP propagation', () => {
  let echoUrl: string;
  let edgeUrl: string;
  const servers: Server[] = [];
  const conversationsSeenByEcho: (string | undefined)[] = [];

  beforeAll(async () => {
    const echo = http.createServer((req, res) => {
      conversationsSeenByEcho.push(currentConversationId());
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.headers));
    });
    servers.push(echo);
    echoUrl = await listen(echo);

    const app = express();
    app.post('/checkout', async (_req, res) => {
      const viaFetch = (await (
        await fetch(`${echoUrl}/fetch`, { headers: { 'Idempotency-Key': 'payment-attempt-1' } })
      ).json()) as IncomingHttpHeaders;
      const viaHttp = await httpGet(`${echoUrl}/http`);
      res.json({ conversation: currentConversationId(), viaFetch, viaHttp });
    });
    const edge = http.createServer(app);
    servers.push(edge);
    edgeUrl = await listen(edge);
  });

  afterAll(() => {
    for (const server of servers) server.close();
  });

  it('an edge request starts a conversation; fetch and http calls made while serving it carry it', async () => {
    const response = await fetch(`${edgeUrl}/checkout`, { method: 'POST', headers: { 'Idempotency-Key': 'cart-42' } });
    const body = (await response.json()) as { conversation: string; viaFetch: IncomingHttpHeaders; viaHttp: IncomingHttpHeaders };
    expect(body.conversation).toBeTruthy();
    for (const echoed of [body.viaFetch, body.viaHttp]) {
      expect(echoed[HEADER_CONVERSATION_ID]).toBe(body.conversation);
      expect(echoed[HEADER_IDEMPOTENCY_KEY], "the edge request's key is inherited").toBe('cart-42');
      expect(echoed[HEADER_CAUSATION_ID], 'no message is being handled at the boundary').toBeUndefined();
      expect(echoed[HEADER_MESSAGE_ID], 'HTTP calls are not messages').toBeUndefined();
      expect(echoed.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(echoed.baggage).toContain(`onceflow.conversation_id=${body.conversation}`);
    }
    expect(conversationsSeenByEcho.slice(-2), 'the downstream server joins the conversation').toEqual([
      body.conversation,
      body.conversation,
    ]);

    await onceflow.forceFlush();
    const spans = exporter.getFinishedSpans();
    const edgeSpan = spans.find((s) => s.kind === SpanKind.SERVER && str(s, ATTR_IDEMPOTENCY_KEY) === 'cart-42')!;
    expect(str(edgeSpan, ATTR_MESSAGING_CONVERSATION_ID)).toBe(body.conversation);
    const traceSpans = spans.filter((s) => s.spanContext().traceId === edgeSpan.spanContext().traceId && s !== edgeSpan);
    const clientCalls = traceSpans.filter(
      (s) => s.kind === SpanKind.CLIENT && s.parentSpanContext?.spanId !== undefined && str(s, ATTR_MESSAGING_CONVERSATION_ID),
    );
    expect(clientCalls.length).toBe(2);
    const fetchSpan = clientCalls.find((s) => s.instrumentationScope.name.includes('undici'))!;
    expect(str(fetchSpan, ATTR_IDEMPOTENCY_KEY), "a call's own Idempotency-Key is recorded on its client span").toBe('payment-attempt-1');
    const echoSpans = traceSpans.filter((s) => s.kind === SpanKind.SERVER);
    expect(echoSpans.map((s) => str(s, ATTR_MESSAGING_CONVERSATION_ID))).toEqual([body.conversation, body.conversation]);
    expect(echoSpans.map((s) => str(s, ATTR_IDEMPOTENCY_KEY)).sort()).toEqual(['cart-42', 'payment-attempt-1']);
  });

  it('a retried edge request with the same Idempotency-Key joins the same conversation; without one each starts its own', async () => {
    const conversationOf = async (headers: Record<string, string>) =>
      ((await (await fetch(`${edgeUrl}/checkout`, { method: 'POST', headers })).json()) as { conversation: string }).conversation;
    const first = await conversationOf({ 'Idempotency-Key': 'retry-me' });
    const retry = await conversationOf({ 'Idempotency-Key': 'retry-me' });
    const other = await conversationOf({});
    const another = await conversationOf({});
    expect(retry).toBe(first);
    expect(other).not.toBe(first);
    expect(another).not.toBe(other);
  });

  it('an incoming request that carries a conversation continues it', async () => {
    const echoed = await httpGet(`${echoUrl}/x`, { [HEADER_CONVERSATION_ID]: 'conv-from-upstream', [HEADER_CAUSATION_ID]: 'msg-upstream' });
    expect(echoed[HEADER_CONVERSATION_ID]).toBe('conv-from-upstream');
    expect(conversationsSeenByEcho.at(-1)).toBe('conv-from-upstream');
    await onceflow.forceFlush();
    const span = exporter
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.SERVER && str(s, ATTR_MESSAGING_CONVERSATION_ID) === 'conv-from-upstream')!;
    expect(str(span, ATTR_CAUSATION_ID)).toBe('msg-upstream');
  });

  it('calls made while handling a message carry its id as causation (fetch and node:http)', async () => {
    let sent: Record<string, string> = {};
    await withSend({ system: 'test-queue', destination: 'payments', messageType: 'ChargeCard' }, async (headers) => {
      sent = headers;
    });
    const echoed = await withHandle({ system: 'test-queue', destination: 'payments', headers: sent }, async () => {
      const viaFetch = (await (await fetch(`${echoUrl}/pay`)).json()) as IncomingHttpHeaders;
      const viaHttp = await httpGet(`${echoUrl}/pay`);
      return [viaFetch, viaHttp];
    });
    for (const headers of echoed) {
      expect(headers[HEADER_CONVERSATION_ID]).toBe(sent[HEADER_CONVERSATION_ID]);
      expect(headers[HEADER_CAUSATION_ID]).toBe(sent[HEADER_MESSAGE_ID]);
      expect(headers.baggage).toContain(`onceflow.causation_id=${sent[HEADER_MESSAGE_ID]}`);
    }
    await onceflow.forceFlush();
    const clients = exporter
      .getFinishedSpans()
      .filter((s) => s.kind === SpanKind.CLIENT && str(s, ATTR_CAUSATION_ID) === sent[HEADER_MESSAGE_ID]);
    expect(clients.length).toBe(2);
  });

  it('calls made outside any request or message carry no Onceflow headers', async () => {
    const echoed = (await (await fetch(`${echoUrl}/plain`)).json()) as IncomingHttpHeaders;
    expect(echoed[HEADER_CONVERSATION_ID]).toBeUndefined();
    expect(echoed.traceparent).toBeDefined();
  });
});

/**
 * The serving service names itself: a server started with Onceflow as `billing-x` in another
 * process answers with `onceflow-service: billing-x`, and this process's client spans (fetch
 * and node:http) record it as `peer.service`. A server without Onceflow leaves it unset.
 */
describe('peer.service from the serving service', () => {
  const index = JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url)));
  const script = `
    import { createRequire } from 'node:module';
    import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
    import { startOnceflow } from ${index};
    startOnceflow({ serviceName: 'billing-x', exporter: new InMemorySpanExporter() });
    const http = createRequire(import.meta.url)('node:http');
    const server = http.createServer((req, res) => (req.url === '/reset' ? req.socket.destroy() : res.end('ok')));
    server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  let billingUrl = '';
  let plainUrl = '';
  // Speaks HTTP over a raw socket: no OpenTelemetry server hook ever sees it.
  const plain = createTcpServer((socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'));
  });

  beforeAll(async () => {
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    billingUrl = `http://127.0.0.1:${(JSON.parse(line.toString()) as { port: number }).port}`;
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    plain.close();
    child.kill('SIGTERM');
    await exited;
  });

  const get = (url: string) =>
    new Promise<IncomingHttpHeaders>((resolve, reject) => {
      const req = http.get(url, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers));
      });
      req.on('error', reject);
    });

  const clientSpan = (path: string, instrumentation: string) =>
    exporter
      .getFinishedSpans()
      .find(
        (s) =>
          s.kind === SpanKind.CLIENT &&
          s.instrumentationScope.name.includes(instrumentation) &&
          String(s.attributes['url.full'] ?? s.attributes['url.path'] ?? s.name).includes(path),
      );

  it("fetch and node:http client spans get the server's service name as peer.service", async () => {
    const viaFetch = await fetch(`${billingUrl}/via-fetch`);
    await viaFetch.text();
    expect(viaFetch.headers.get(HEADER_SERVICE)).toBe('billing-x');
    expect((await get(`${billingUrl}/via-http`))[HEADER_SERVICE]).toBe('billing-x');
    await onceflow.forceFlush();
    expect(str(clientSpan('/via-fetch', 'undici')!, ATTR_PEER_SERVICE)).toBe('billing-x');
    expect(str(clientSpan('/via-http', 'http')!, ATTR_PEER_SERVICE)).toBe('billing-x');
  });

  it('a call that fails before any response is attributed to the service that last answered from that address', async () => {
    await (await fetch(`${billingUrl}/first`)).text();
    await get(`${billingUrl}/first`);
    await expect(fetch(`${billingUrl}/reset`)).rejects.toThrow();
    await expect(get(`${billingUrl}/reset`)).rejects.toThrow();
    await onceflow.forceFlush();
    const failed = exporter
      .getFinishedSpans()
      .filter((s) => s.kind === SpanKind.CLIENT && String(s.attributes['url.full']).endsWith('/reset'));
    expect(failed.map((s) => s.instrumentationScope.name).sort()).toEqual([
      '@opentelemetry/instrumentation-http',
      '@opentelemetry/instrumentation-undici',
    ]);
    for (const span of failed) {
      expect(span.status.code, span.instrumentationScope.name).toBe(SpanStatusCode.ERROR);
      expect(str(span, ATTR_PEER_SERVICE), span.instrumentationScope.name).toBe('billing-x');
    }
  });

  it('a server without Onceflow sends no service header and the client span has no peer.service', async () => {
    const viaFetch = await fetch(`${plainUrl}/plain-fetch`);
    await viaFetch.text();
    expect(viaFetch.headers.get(HEADER_SERVICE)).toBeNull();
    await get(`${plainUrl}/plain-http`);
    await onceflow.forceFlush();
    for (const [path, instrumentation] of [
      ['/plain-fetch', 'undici'],
      ['/plain-http', 'http'],
    ]) {
      const span = clientSpan(path, instrumentation);
      expect(span, path).toBeDefined();
      expect(str(span!, ATTR_PEER_SERVICE), path).toBeUndefined();
    }
  });
});
