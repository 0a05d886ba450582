import { describe, expect, it } from 'vitest';
import { readBaggageHeader, writeBaggageHeader } from './baggage.js';
import { deterministicMessageId, identityHeaders, incomingIdentity, lowerCaseKeys, readIdentityHeaders, uuidV5 } from './identity.js';
import { parseTraceparent } from './links.js';

describe('deterministic message ids', () => {
  it('implements RFC 9562 version 5 (the RFC example: www.example.com in the DNS namespace)', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('gives the same id for the same parts and different ids otherwise', () => {
    const a = deterministicMessageId('billing', 'msg-1', 'OrderBilled');
    expect(a).toBe(deterministicMessageId('billing', 'msg-1', 'OrderBilled'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).not.toBe(deterministicMessageId('billing', 'msg-2', 'OrderBilled'));
    // Parts are separated, not concatenated: ('ab','c') and ('a','bc') differ.
    expect(deterministicMessageId('ab', 'c')).not.toBe(deterministicMessageId('a', 'bc'));
  });
});

describe('identity headers', () => {
  it('round-trips an identity through onceflow-* headers, leaving out absent fields', () => {
    const identity = {
      messageId: 'm1',
      conversationId: 'c1',
      causationId: 'm0',
      messageType: 'OrderPlaced',
      idempotencyKey: 'k',
      attempt: 3,
    };
    const headers = identityHeaders(identity);
    expect(headers).toEqual({
      'onceflow-message-id': 'm1',
      'onceflow-conversation-id': 'c1',
      'onceflow-causation-id': 'm0',
      'onceflow-message-type': 'OrderPlaced',
      'onceflow-idempotency-key': 'k',
      'onceflow-attempt': '3',
    });
    expect(readIdentityHeaders(headers)).toEqual(identity);
    expect(identityHeaders({ messageId: 'm1', conversationId: 'c1' })).toEqual({
      'onceflow-message-id': 'm1',
      'onceflow-conversation-id': 'c1',
    });
  });

  it('reads AMQP header values that arrive as Buffers or numbers, and HTTP arrays', () => {
    expect(
      readIdentityHeaders({ 'onceflow-message-id': Buffer.from('m9'), 'onceflow-attempt': 2, 'onceflow-message-type': ['T', 'U'] }),
    ).toEqual({ messageId: 'm9', attempt: 2, messageType: 'T' });
    expect(readIdentityHeaders({ 'onceflow-attempt': 'two', 'onceflow-message-id': '' })).toEqual({});
    expect(readIdentityHeaders(lowerCaseKeys({ 'Onceflow-Message-Id': 'm2' }))).toEqual({ messageId: 'm2' });
  });
});

describe('incoming identity', () => {
  const mint = () => 'minted';
  it.each([
    [
      'headers win over transport properties',
      { messageId: 'h', conversationId: 'hc' },
      {},
      { messageId: 'p', correlationId: 'pc', redeliveries: 0 },
      { messageId: 'h', conversationId: 'hc', attempt: 1 },
    ],
    [
      'transport properties fill in',
      {},
      {},
      { messageId: 'p', correlationId: 'pc', messageType: 'T', redeliveries: 0 },
      { messageId: 'p', conversationId: 'pc', messageType: 'T', attempt: 1 },
    ],
    [
      'baggage carries the conversation when headers do not',
      { messageId: 'h' },
      { conversationId: 'bc', causationId: 'bm' },
      { redeliveries: 0 },
      { messageId: 'h', conversationId: 'bc', causationId: 'bm', attempt: 1 },
    ],
    ['a first message names its conversation', {}, {}, { redeliveries: 0 }, { messageId: 'minted', conversationId: 'minted', attempt: 1 }],
    [
      'broker redeliveries add to the carried attempt',
      { messageId: 'h', attempt: 3 },
      {},
      { redeliveries: 1 },
      { messageId: 'h', conversationId: 'h', attempt: 4 },
    ],
  ])('%s', (_name, found, baggage, fallbacks, expected) => {
    expect(incomingIdentity(found, baggage, { ...fallbacks, mintId: mint })).toEqual(expected);
  });
});

describe('baggage entries', () => {
  it('replaces only Onceflow entries and keeps the application’s', () => {
    const header = writeBaggageHeader('userId=42,onceflow.conversation_id=old;prop=1', { conversationId: 'c 1', causationId: 'm/2' });
    expect(header).toBe('userId=42,onceflow.conversation_id=c%201,onceflow.causation_id=m%2F2');
    expect(readBaggageHeader(header)).toEqual({ conversationId: 'c 1', causationId: 'm/2' });
    expect(readBaggageHeader('userId=42')).toEqual({});
    expect(readBaggageHeader(undefined)).toEqual({});
  });
});

describe('traceparent parsing (consumer links)', () => {
  it('accepts a valid W3C traceparent and rejects invalid ones', () => {
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
      isRemote: true,
    });
    expect(parseTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01')).toBeUndefined();
    expect(parseTraceparent('garbage')).toBeUndefined();
    expect(parseTraceparent(undefined)).toBeUndefined();
  });
});
