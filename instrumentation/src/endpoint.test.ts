import { describe, expect, it } from 'vitest';
import { consumeAs, defaultEndpoint, endpointOfConsumerTag } from './endpoint.js';

describe('endpoint names', () => {
  it.each([
    ['billing', 'billing-orders', 'billing/billing-orders'],
    ['billing', undefined, 'billing'],
    ['billing', '', 'billing'],
  ])('service %s, destination %s → %s', (service, destination, expected) => {
    expect(defaultEndpoint(service, destination)).toBe(expected);
  });

  it('consumeAs keeps the options and carries the name in a unique consumer tag', () => {
    const a = consumeAs('billing/refunds', { noAck: false, priority: 2 });
    const b = consumeAs('billing/refunds');
    expect(a).toMatchObject({ noAck: false, priority: 2 });
    expect(a.consumerTag).not.toBe(b.consumerTag);
    expect(endpointOfConsumerTag(a.consumerTag)).toBe('billing/refunds');
    expect(endpointOfConsumerTag(consumeAs('a#b').consumerTag), 'a name may contain #').toBe('a#b');
  });

  it.each([['amq.ctag-abc'], [undefined], [42], ['onceflow-endpoint=#x']])('a tag %j names no endpoint', (tag) => {
    expect(endpointOfConsumerTag(tag)).toBeUndefined();
  });

  it.each([[''], ['  '], ['x'.repeat(201)], [undefined as unknown as string]])('an invalid name %j leaves the options as given', (name) => {
    const options = { noAck: false };
    expect(consumeAs(name, options)).toEqual({ noAck: false });
  });
});
