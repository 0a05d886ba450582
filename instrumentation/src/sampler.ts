/**
 * Onceflow's default sampler. Verdicts rest on evidence: a producer or consumer span lost to
 * sampling turns a flow's verdicts into `unknown` (was the message sent? processed once?),
 * and a ratio sampler would drop whole attempts at random. So every span that carries message
 * identity is kept whatever the ratio — producer and consumer spans, spans with messaging
 * attributes at start, and entry spans (an HTTP request) that deliver a message — and every
 * other span is decided by the configured ratio, parent-based (children follow their parent:
 * everything inside a kept attempt is kept, a sampled-out HTTP request's middleware is not).
 *
 * A kept messaging span may have a parent that was sampled out (a publish from a request
 * outside the ratio): its parent span id then never arrives, which is expected here.
 */
import { SpanKind, type Attributes, type Context, type Link } from '@opentelemetry/api';
import {
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-base';
import { reportHookError } from './guard.js';
import { REMOTE_IDENTITY_KEY, type RemoteIdentity } from './scope.js';
import { ATTR_MESSAGING_MESSAGE_ID, ATTR_MESSAGING_SYSTEM } from './semconv.js';

const KEEP: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });

/** Whether a span about to start carries message identity (and so must never be dropped). */
export function carriesMessageIdentity(parentContext: Context, kind: SpanKind, attributes: Attributes): boolean {
  if (kind === SpanKind.PRODUCER || kind === SpanKind.CONSUMER) return true;
  if (attributes[ATTR_MESSAGING_SYSTEM] !== undefined || attributes[ATTR_MESSAGING_MESSAGE_ID] !== undefined) return true;
  if (kind !== SpanKind.SERVER) return false;
  // A request that delivers a message (its headers carry `onceflow-message-id`) is an attempt.
  const remote = parentContext.getValue(REMOTE_IDENTITY_KEY) as RemoteIdentity | undefined;
  return remote !== undefined && remote().messageId !== undefined;
}

export class OnceflowSampler implements Sampler {
  constructor(private readonly delegate: Sampler) {}

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    try {
      if (carriesMessageIdentity(context, spanKind, attributes)) return KEEP;
      return this.delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
    } catch (error) {
      // Keeping a span costs an export; dropping one may cost a verdict.
      reportHookError('sampler', error);
      return KEEP;
    }
  }

  toString(): string {
    return `OnceflowSampler{keeps message identity, else ${this.delegate.toString()}}`;
  }
}

/**
 * The default sampler: spans with message identity always, others parent-based with a root
 * ratio (`ratio` 1 keeps everything; 0 keeps only what carries identity and its descendants).
 */
export function onceflowSampler(options: { ratio?: number } = {}): Sampler {
  return new OnceflowSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.ratio ?? 1) }));
}
