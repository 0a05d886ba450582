import { describe, expect, it } from 'vitest';
import type { TruthRecord } from '../faults/ground-truth.js';
import type { BusinessState } from './business-state.js';
import { deriveTruth } from './business-truth.js';

const empty: BusinessState = { processed: [], outbox: [], deadLetters: [], effects: [], claimChecks: [], blobs: [], sequences: [] };
const injected = (kind: TruthRecord['kind'], messageId: string, service: string): TruthRecord => ({
  kind,
  messageId,
  service,
  messageType: 'T',
  time: 0,
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
  ])('$name', ({ state, log, truth }) => {
    expect(keys(state, log).sort()).toEqual(truth.sort());
  });
});
