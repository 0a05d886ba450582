/**
 * `setBusinessKey`: the business key (an order id, an account id) that ordering is judged by.
 * It goes on the current span and on the attempt (or request) it belongs to, and every message
 * sent from that scope afterwards carries it in `onceflow-business-key`; the consumer reads it
 * back into `onceflow.business_key` and passes it on to what it sends in turn.
 */
import { trace } from '@opentelemetry/api';
import { guard, warnOnce } from './guard.js';
import { scopeOfSpan } from './scope.js';
import { ATTR_BUSINESS_KEY } from './semconv.js';

/** Sets the business key of the current span and of the messages sent from its scope from now on. */
export function setBusinessKey(key: string): void {
  guard('setBusinessKey', () => {
    if (typeof key !== 'string' || key === '') {
      warnOnce(
        'setBusinessKey:invalid',
        `setBusinessKey needs a non-empty string, got ${typeof key === 'string' ? 'an empty string' : typeof key}; nothing was recorded.`,
      );
      return;
    }
    const span = trace.getActiveSpan();
    if (!span) return;
    span.setAttribute(ATTR_BUSINESS_KEY, key);
    const scope = scopeOfSpan(span);
    if (!scope) return;
    scope.businessKey = key;
    if (scope.span !== span) scope.span.setAttribute(ATTR_BUSINESS_KEY, key);
  });
}
