/**
 * `@onceflow/instrumentation`: message identity, causation and attempt outcomes on top of
 * OpenTelemetry. `startOnceflow` for a one-line start; the span processor, propagator and
 * instrumentations separately for an application that runs its own NodeSDK.
 */
export * from './semconv.js';
export type { MessageIdentity, OnceflowHandle, OnceflowInstrumentationsConfig, OnceflowOptions } from './types.js';
export type { OnceflowLogger } from './guard.js';
export { startOnceflow, tracesUrl, DEFAULT_ENDPOINT } from './start.js';
export {
  markProcessed,
  markCommitted,
  markDuplicate,
  markFailed,
  markRetryScheduled,
  markDeadLettered,
  recordPayloadOffload,
  recordPayloadFetch,
} from './outcome.js';
export { deterministicMessageId, identityHeaders, readIdentityHeaders, ONCEFLOW_UUID_NAMESPACE } from './identity.js';
export { currentMessage, currentConversationId, outgoingIdentity } from './scope.js';
export { withSend, withHandle, type SendMeta, type HandleMeta } from './transport.js';
export { withOutboxDispatch, outboxMessage, recordOutgoing } from './outbox.js';
export { setBusinessKey } from './business-key.js';
export { consumeAs } from './endpoint.js';
export { configureBodyDigest, DEFAULT_BODY_DIGEST_MAX_BYTES, type BodyDigestOption } from './body-digest.js';
export { onceflowSampler, OnceflowSampler } from './sampler.js';
export type { OutgoingFields } from './scope.js';
export { onceflowSpanProcessor, OnceflowSpanProcessor } from './span-processor.js';
export { onceflowPropagator, OnceflowPropagator } from './propagator.js';
export { onceflowInstrumentations } from './instrumentations.js';
export { amqplibConfig } from './amqplib.js';
export { httpConfig, undiciConfig } from './http.js';
