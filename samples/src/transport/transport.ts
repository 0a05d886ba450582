/**
 * The small interface both transports implement (the PostgreSQL-table queue and RabbitMQ).
 * A transport moves envelopes and owns the messaging spans: the table queue wraps its
 * send/handle in Onceflow's `withSend`/`withHandle`; RabbitMQ is traced by the OpenTelemetry
 * amqplib instrumentation. Either way the endpoint's handler runs inside the consume span, so
 * its `mark*` call lands on the attempt.
 */
export interface Envelope {
  messageId: string;
  messageType: string;
  /** Onceflow identity headers (and W3C trace context) to carry. */
  headers: Record<string, string>;
  /** JSON body (or a claim-check reference document). */
  body: string;
  /** Set when the body's real content was offloaded to a blob store (claim check). */
  payload?: { bytes: number; ref?: string; offloaded?: boolean };
}

export interface Delivery extends Envelope {
  queue: string;
  /** 1-based processing attempt of this message at this queue. */
  attempt: number;
  redelivered: boolean;
  ack(): Promise<void>;
  /** Hands the message back for another attempt after `delayMs` (0: immediately). */
  retry(delayMs: number): Promise<void>;
  deadLetter(reason: string): Promise<void>;
  /** Simulates a consumer crash: the message is neither acked nor released; the broker redelivers it. */
  abandon(): Promise<void>;
  /** Renews the consumer's lease for another visibility timeout (queues with leases only). */
  extendLease?(): Promise<void>;
}

export interface QueueRoute {
  queue: string;
  commands: string[];
  events: string[];
}

export interface Consumer {
  stop(): Promise<void>;
}

export interface ConsumeOptions {
  concurrency: number;
  /** False for a consumer that runs without tracing (an uninstrumented service); table queue only. */
  traced?: boolean;
}

export interface Transport {
  /** `messaging.system` value. */
  readonly system: string;
  /** Declares queues and event subscriptions. */
  setup(routes: QueueRoute[]): Promise<void>;
  /** A command to one queue. */
  send(queue: string, envelope: Envelope): Promise<void>;
  /** An event to every queue subscribed to its type. */
  publish(envelope: Envelope): Promise<void>;
  /** Puts a copy of a delivered message back on `queue` as the broker would redeliver it (no send); embedded transport only. */
  redeliver?(queue: string, envelope: Envelope): Promise<void>;
  consume(queue: string, onDelivery: (delivery: Delivery) => Promise<void>, options: ConsumeOptions): Promise<Consumer>;
  /** Messages still waiting or in flight (not dead-lettered) across the given queues. */
  pending(queues: string[]): Promise<number>;
  /** Message ids moved to dead letter. */
  deadLetters(): Promise<{ queue: string; messageId: string; messageType: string; reason: string }[]>;
  close(): Promise<void>;
  /** Deletes the queues and exchanges it declared (tests clean up after themselves). */
  destroy?(): Promise<void>;
}
