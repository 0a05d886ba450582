/**
 * Synthetic telemetry for the dashboard benchmark: one large conversation of a chosen size, and
 * a wide system (50 services, 200 edges). Built with the collector's span builders so the
 * analysis reads them like real traces.
 */
import { attempt, httpServer, send } from '../../collector/test/span-builders.js';
import type { SpanRow } from '../../collector/src/model/span.js';

/**
 * A batch import of `messages` messages:
 *
 *   POST /imports ─> ImportBatch ─> importer
 *                                     ├─ ReserveItem ─> inventory ─> ItemReserved ─> shipping   (×M)
 *                                     └─ …                        (every 50th item retried once)
 */
export function buildLargeFlow(conversationId: string, messages: number, t0: number): SpanRow[] {
  const spans: SpanRow[] = [];
  const items = Math.max(0, Math.floor((messages - 1) / 2));
  const http = httpServer({ service: 'import-api', route: '/imports', method: 'POST', atMs: t0, durationMs: 20, conversationId });
  spans.push(http);
  const batch = send({
    parent: http,
    messageId: `${conversationId}-batch`,
    messageType: 'ImportBatch',
    destination: 'imports',
    atMs: t0 + 5,
  });
  spans.push(batch);
  const reserveIds = Array.from({ length: items }, (_, i) => `${conversationId}-reserve-${i}`);
  const importer = attempt({
    parent: batch,
    service: 'importer',
    outcome: 'processed',
    atMs: t0 + 10,
    durationMs: 200,
    outgoing: reserveIds,
  });
  spans.push(importer);
  for (let i = 0; i < items; i++) {
    const at = t0 + 20 + i * 2;
    const reserve = send({ parent: importer, messageId: reserveIds[i], messageType: 'ReserveItem', destination: 'inventory', atMs: at });
    spans.push(reserve);
    const reservedId = `${conversationId}-reserved-${i}`;
    if (i % 50 === 7) {
      spans.push(
        attempt({
          parent: reserve,
          service: 'inventory',
          outcome: 'retry_scheduled',
          error: 'lock timeout',
          retryDelayMs: 500,
          atMs: at + 5,
          durationMs: 30,
        }),
      );
    }
    const retried = i % 50 === 7;
    const handle = attempt({
      parent: reserve,
      service: 'inventory',
      attempt: retried ? 2 : 1,
      outcome: 'processed',
      atMs: at + (retried ? 600 : 5),
      durationMs: 8,
      outgoing: [reservedId],
    });
    spans.push(handle);
    const reserved = send({
      parent: handle,
      messageId: reservedId,
      messageType: 'ItemReserved',
      destination: 'item-events',
      atMs: at + (retried ? 610 : 12),
    });
    spans.push(reserved);
    spans.push(attempt({ parent: reserved, service: 'shipping', outcome: 'processed', atMs: at + (retried ? 620 : 20), durationMs: 6 }));
  }
  return spans;
}

/**
 * 50 services and 40 destinations: each destination has one producing service (40 send edges)
 * and four consuming services (160 consume edges) — 200 edges on the map.
 */
export function buildWideSystem(t0: number): SpanRow[] {
  const spans: SpanRow[] = [];
  const services = Array.from({ length: 50 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
  for (let d = 0; d < 40; d++) {
    const destination = `queue-${String(d).padStart(2, '0')}`;
    const producer = services[d % 50];
    const conversationId = `wide-${d}`;
    const http = httpServer({ service: producer, route: `/wide/${d}`, atMs: t0 + d * 100, conversationId });
    spans.push(http);
    for (let k = 0; k < 3; k++) {
      const message = send({
        parent: http,
        service: producer,
        messageId: `wide-${d}-${k}`,
        messageType: `Event${d}`,
        destination,
        atMs: t0 + d * 100 + k,
      });
      spans.push(message);
      for (let c = 1; c <= 4; c++) {
        const consumer = services[(d + c * 11) % 50];
        spans.push(
          attempt({
            parent: message,
            service: consumer,
            outcome: (d + c) % 17 === 0 ? 'duplicate' : 'processed',
            atMs: t0 + d * 100 + k + 10,
            durationMs: 4,
          }),
        );
      }
    }
  }
  return spans;
}
