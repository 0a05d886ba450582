/**
 * Live updates over Server-Sent Events (`GET /api/live`). The flow indexer and the topology
 * feed publish; every connected client gets each event as `event: <name>` + JSON `data:`.
 *
 * Bounded: a client that does not read (its socket buffer grows past `maxBufferedBytes`) is
 * disconnected rather than buffered without end. Heartbeat comments keep proxies from closing
 * idle streams; disconnects remove the client at once.
 */
import type { ServerResponse } from 'node:http';
import type { LiveEventName } from '../contract/index.js';
import type { Logger } from '../logger.js';

export type { LiveEventName };

export interface LiveHubOptions {
  logger: Logger;
  /** Comment line sent to idle streams; 15 s by default. */
  heartbeatMs?: number;
  /** Unsent bytes a client may accumulate before it is dropped; 1 MiB by default. */
  maxBufferedBytes?: number;
  /** Most simultaneous clients; further ones are refused with 503. */
  maxClients?: number;
}

export interface LiveHub {
  publish(event: LiveEventName, data: unknown): void;
  /** Turns a raw response into an event stream; returns false (and answers 503) when full. */
  attach(response: ServerResponse): boolean;
  clientCount(): number;
  /** Ends every stream (shutdown). */
  close(): void;
}

interface Client {
  id: number;
  response: ServerResponse;
}

export function createLiveHub(options: LiveHubOptions): LiveHub {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1 << 20;
  const maxClients = options.maxClients ?? 1000;
  const clients = new Map<number, Client>();
  let nextClientId = 1;
  let nextEventId = 1;
  let heartbeat: NodeJS.Timeout | null = null;

  const drop = (client: Client, reason: string) => {
    if (!clients.delete(client.id)) return;
    options.logger.debug({ client: client.id, reason }, 'live client disconnected');
    if (!client.response.destroyed) client.response.destroy();
    if (clients.size === 0 && heartbeat) {
      clearInterval(heartbeat);
      heartbeat = null;
    }
  };

  const send = (client: Client, chunk: string) => {
    if (client.response.destroyed || client.response.writableEnded) return drop(client, 'closed');
    if (client.response.writableLength > maxBufferedBytes) {
      options.logger.warn({ client: client.id, buffered: client.response.writableLength }, 'live client too slow; dropped');
      return drop(client, 'slow');
    }
    client.response.write(chunk);
  };

  const startHeartbeat = () => {
    if (heartbeat) return;
    heartbeat = setInterval(() => {
      const line = `: heartbeat ${Date.now()}\n\n`;
      for (const client of [...clients.values()]) send(client, line);
    }, heartbeatMs);
    heartbeat.unref();
  };

  return {
    publish(event, data) {
      if (clients.size === 0) return;
      const chunk = `id: ${nextEventId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
      for (const client of [...clients.values()]) send(client, chunk);
    },
    attach(response) {
      if (clients.size >= maxClients) {
        response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
        response.end(JSON.stringify({ error: 'too many live clients', parameter: null }));
        return false;
      }
      const client: Client = { id: nextClientId++, response };
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      response.write(`retry: 3000\n: connected\n\n`);
      clients.set(client.id, client);
      response.on('close', () => drop(client, 'disconnected'));
      response.on('error', () => drop(client, 'error'));
      startHeartbeat();
      return true;
    },
    clientCount: () => clients.size,
    close() {
      for (const client of [...clients.values()]) {
        client.response.end();
        drop(client, 'shutdown');
      }
    },
  };
}
