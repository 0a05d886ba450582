import { describe, expect, it } from 'vitest';
import type { TruthRecord } from '../faults/ground-truth.js';
import type { BusinessState } from './business-state.js';
import { deriveTruth } from './business-truth.js';

const empty: BusinessState = {
  processed: [],
  outbox: [],
  deadLetters: [],
  effects: [],
  claimChecks: [],
  blobs: [],
  blobWriters: [],
  sequences: [],
};
const injected = (kind: TruthRecord['kind'], messageId: string, service: string): TruthRecord => ({
  kind,
  messageId,
  service,
  messageType: 'T',
  time: 0,
});
const row = (messageId: string, incomingId: string, createdAtMs: number, messageType = 'BillCustomer') => ({
  service: 'orders',
  messageId,
  messageType,
  dispatched: true,
  incomingId,
  createdAtMs,
});
const applied = (messageId: string, messageType: string, appliedAtMs: number, key = 'order-1') => ({
  service: 'orders',
  key,
  messageId,
  messageType,
  appliedAtMs,
});
const keys = (state: Partial<BusinessState>, log: TruthRecord[] = []) =>
  deriveTruth({ ...empty, ...state }, log).map((t) => `${t.kind} ${t.service} ${t.messageId}`);

describe('ground truth from business state', () => {
  it.each([
    { name: 'nothing happened', state: {}, log: [], truth: [] },
    {
      name: 'a dead letter, from the dead-letter queue alone',
      state: { deadLetters: [{ service: 'shipping', messageId: 'm1', messageType: 'T' }] },
      log: [],
      truth: ['dead-letter shipping m1'],
    },
    {
      name: 'an effect applied twice is a duplicate processing; once is not',
      state: {
        effects: [
          { service: 'marketing', messageId: 'm1', messageType: 'T' },
          { service: 'marketing', messageId: 'm1', messageType: 'T' },
          { service: 'marketing', messageId: 'm2', messageType: 'T' },
        ],
      },
      log: [],
      truth: ['duplicate-processing marketing m1'],
    },
    {
      name: "a provider execution for a message billing never processed is an uncommitted side effect; a processed one's, or an effect in the service's own transaction, is not",
      state: {
        processed: [
          { service: 'billing', messageId: 'b1' },
          { service: 'marketing', messageId: 'm1' },
        ],
        deadLetters: [{ service: 'billing', messageId: 'b2', messageType: 'BillCustomer' }],
        effects: [
          { service: 'billing', messageId: 'b1', messageType: 'BillCustomer', external: true },
          { service: 'billing', messageId: 'b2', messageType: 'BillCustomer', external: true },
          { service: 'marketing', messageId: 'm2', messageType: 'OrderBilled' },
        ],
      },
      log: [],
      truth: ['dead-letter billing b2', 'uncommitted-side-effect billing b2'],
    },
    {
      name: 'an injected early blob delete is a missing payload when the blob is gone and its reader got the message and never processed it',
      state: {
        processed: [{ service: 'shipping', messageId: 'i2' }],
        deadLetters: [{ service: 'shipping', messageId: 'i1', messageType: 'InvoiceIssued' }],
        outbox: [
          { service: 'invoicing', messageId: 'i1', messageType: 'InvoiceIssued', dispatched: true },
          { service: 'invoicing', messageId: 'i2', messageType: 'InvoiceIssued', dispatched: true },
          { service: 'invoicing', messageId: 'i3', messageType: 'InvoiceIssued', dispatched: true },
        ],
        claimChecks: [
          { service: 'invoicing', messageId: 'i1', messageType: 'InvoiceIssued', ref: 'blob://invoices/i1-a1' },
          { service: 'invoicing', messageId: 'i2', messageType: 'InvoiceIssued', ref: 'blob://invoices/i2-a1' },
          { service: 'invoicing', messageId: 'i3', messageType: 'InvoiceIssued', ref: 'blob://invoices/i3-a1' },
          // Committed without dispatch: nobody ever tried to read it.
          { service: 'invoicing', messageId: 'i4', messageType: 'InvoiceIssued', ref: 'blob://invoices/i4-a1' },
        ],
        blobs: ['blob://invoices/i3-a1'],
      },
      log: [
        injected('missing-payload', 'i1', 'shipping'),
        injected('missing-payload', 'i2', 'shipping'),
        injected('missing-payload', 'i3', 'shipping'),
        injected('missing-payload', 'i4', 'shipping'),
      ],
      truth: [
        'dead-letter shipping i1',
        'offload invoicing i1',
        'offload invoicing i2',
        'offload invoicing i3',
        'missing-payload shipping i1',
      ],
    },
    {
      name: "a listed blob no committed claim check refers to is an orphaned payload of its writer's message (its ref when unknown)",
      state: {
        claimChecks: [{ service: 'invoicing', messageId: 'i1', messageType: 'InvoiceIssued', ref: 'blob://invoices/i1-a2' }],
        outbox: [{ service: 'invoicing', messageId: 'i1', messageType: 'InvoiceIssued', dispatched: false }],
        blobs: ['blob://invoices/i1-a1', 'blob://invoices/i1-a2', 'blob://invoices/stray'],
        blobWriters: [
          { ref: 'blob://invoices/i1-a1', service: 'invoicing', messageId: 'b1', messageType: 'OrderBilled' },
          { ref: 'blob://invoices/i1-a2', service: 'invoicing', messageId: 'b1', messageType: 'OrderBilled' },
        ],
      },
      log: [],
      truth: ['orphaned-payload invoicing b1', 'orphaned-payload invoicing blob://invoices/stray'],
    },
    {
      name: 'a listed blob whose claim check is for a message no outbox holds and nobody consumed (commit without dispatch) is orphaned',
      state: {
        claimChecks: [
          { service: 'invoicing', messageId: 'i1', messageType: 'InvoiceIssued', ref: 'blob://invoices/i1-a1' },
          // near-misses: still in the outbox (the sweeper sends it); consumed (its row gone)
          { service: 'invoicing', messageId: 'i2', messageType: 'InvoiceIssued', ref: 'blob://invoices/i2-a1' },
          { service: 'invoicing', messageId: 'i3', messageType: 'InvoiceIssued', ref: 'blob://invoices/i3-a1' },
        ],
        outbox: [{ service: 'invoicing', messageId: 'i2', messageType: 'InvoiceIssued', dispatched: false }],
        processed: [{ service: 'shipping', messageId: 'i3' }],
        blobs: ['blob://invoices/i1-a1', 'blob://invoices/i2-a1', 'blob://invoices/i3-a1'],
        blobWriters: [
          { ref: 'blob://invoices/i1-a1', service: 'invoicing', messageId: 'b1', messageType: 'OrderBilled' },
          { ref: 'blob://invoices/i2-a1', service: 'invoicing', messageId: 'b2', messageType: 'OrderBilled' },
          { ref: 'blob://invoices/i3-a1', service: 'invoicing', messageId: 'b3', messageType: 'OrderBilled' },
        ],
      },
      log: [],
      truth: ['orphaned-payload invoicing b1'],
    },
    {
      name: 'an offload is a committed claim check whose message was dispatched',
      state: {
        claimChecks: [
          { service: 'invoicing', messageId: 'm1', messageType: 'InvoiceIssued', ref: 'blob://invoices/m1-a1' },
          { service: 'invoicing', messageId: 'm2', messageType: 'InvoiceIssued', ref: 'blob://invoices/m2-a1' },
        ],
        outbox: [
          { service: 'invoicing', messageId: 'm1', messageType: 'InvoiceIssued', dispatched: true },
          { service: 'invoicing', messageId: 'm2', messageType: 'InvoiceIssued', dispatched: false },
        ],
      },
      log: [],
      truth: ['offload invoicing m1'],
    },
    {
      name: 'an injected ghost counts when no outbox committed it and a receiver consumed it',
      state: { processed: [{ service: 'billing', messageId: 'g1' }] },
      log: [injected('ghost-message', 'g1', 'orders'), injected('ghost-message', 'g2', 'orders')],
      truth: ['ghost-message orders g1'],
    },
    {
      name: 'an injected ghost whose state did commit is no ghost',
      state: {
        processed: [{ service: 'billing', messageId: 'g1' }],
        outbox: [{ service: 'orders', messageId: 'g1', messageType: 'T', dispatched: true }],
      },
      log: [injected('ghost-message', 'g1', 'orders')],
      truth: [],
    },
    {
      name: 'an injected premature publish counts when the producer then committed it',
      state: { outbox: [{ service: 'orders', messageId: 'p1', messageType: 'T', dispatched: true }] },
      log: [injected('premature-publish', 'p1', 'orders'), injected('premature-publish', 'p2', 'orders')],
      truth: ['premature-publish orders p1'],
    },
    {
      name: 'an injected commit without dispatch is a stuck outbox when no outbox holds it and nobody consumed it',
      state: { processed: [{ service: 'shipping', messageId: 'l2' }] },
      log: [injected('lost-message', 'l1', 'billing'), injected('lost-message', 'l2', 'billing')],
      truth: ['stuck-outbox billing l1'],
    },
    {
      name: 'an injected retry counts when the endpoint then processed the message',
      state: {
        processed: [{ service: 'orders', messageId: 'r1' }],
        deadLetters: [{ service: 'orders', messageId: 'r2', messageType: 'T' }],
      },
      log: [injected('retry', 'r1', 'orders'), injected('retry', 'r2', 'orders')],
      truth: ['dead-letter orders r2', 'retry orders r1'],
    },
    {
      name: "an endpoint's findings name the service it runs in (marketing's second queue is marketing)",
      state: {
        effects: [
          { service: 'marketing-analytics', messageId: 'm1', messageType: 'OrderBilled' },
          { service: 'marketing-analytics', messageId: 'm1', messageType: 'OrderBilled' },
        ],
      },
      log: [injected('duplicate-delivery', 'd1', 'marketing-analytics'), injected('duplicate-delivery', 'd2', 'shipping')],
      truth: ['duplicate-processing marketing m1', 'duplicate-delivery marketing d1', 'duplicate-delivery shipping d2'],
    },
    {
      name: 'a redelivery to an endpoint that dead-lettered the message is reported as the dead letter only',
      state: { deadLetters: [{ service: 'shipping', messageId: 'd2', messageType: 'T' }] },
      log: [injected('duplicate-delivery', 'd1', 'shipping'), injected('duplicate-delivery', 'd2', 'shipping')],
      truth: ['dead-letter shipping d2', 'duplicate-delivery shipping d1'],
    },
    {
      name: 'an outbox holding one kind of message twice for one incoming message: every copy after the first is a logical duplicate',
      state: {
        outbox: [
          row('b2', 's1', 20),
          row('b1', 's1', 10),
          row('b3', 's1', 30),
          row('o1', 's1', 11, 'OrderSubmitted'),
          row('b4', 's2', 10),
          { service: 'billing', messageId: 'x1', messageType: 'BillCustomer', dispatched: true },
        ],
      },
      log: [],
      truth: ['logical-duplicate orders b2', 'logical-duplicate orders b3'],
    },
    {
      name: 'in a per-key history, the message applied before one sent earlier overtook it (once per message, first application)',
      state: {
        outbox: [
          { ...row('billed-1', 'c1', 10, 'OrderBilled'), service: 'billing' },
          { ...row('shipped-1', 'billed-1', 20, 'OrderShipped'), service: 'shipping' },
          { ...row('billed-2', 'c2', 10, 'OrderBilled'), service: 'billing' },
          { ...row('shipped-2', 'billed-2', 20, 'OrderShipped'), service: 'shipping' },
        ],
        sequences: [
          applied('shipped-1', 'OrderShipped', 100),
          applied('billed-1', 'OrderBilled', 200),
          applied('shipped-1', 'OrderShipped', 300),
          applied('billed-2', 'OrderBilled', 100, 'order-2'),
          applied('shipped-2', 'OrderShipped', 200, 'order-2'),
          applied('unsent', 'OrderShipped', 50, 'order-2'),
        ],
      },
      log: [],
      truth: ['out-of-order orders shipped-1'],
    },
  ])('$name', ({ state, log, truth }) => {
    expect(keys(state, log).sort()).toEqual(truth.sort());
  });
});
