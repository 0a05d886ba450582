/**
 * A service instrumented only with the official OpenTelemetry Node SDK and
 * @opentelemetry/instrumentation-amqplib — no Onceflow package. CommonJS, so the
 * instrumentation patches amqplib when it is required (after the SDK started).
 *
 *   publish order (AMQP messageId) ─> orders queue ─> #1 nack + requeue
 *                                                   #2 (redelivered) ack
 *                                                       └─ publish invoice ─> invoices queue ─> ack
 *
 * Env: OTLP_URL (collector base URL), AMQP_URL, ORDERS_QUEUE, INVOICES_QUEUE, ORDER_ID, INVOICE_ID.
 * Prints "done" after every span is exported.
 */
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { AmqplibInstrumentation } = require('@opentelemetry/instrumentation-amqplib');

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'plain-shop' }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${process.env.OTLP_URL}/v1/traces` }))],
});
provider.register();
registerInstrumentations({
  instrumentations: [
    new AmqplibInstrumentation({
      // The instrumentation does not record AMQP's redelivered flag; its consumeHook can.
      consumeHook: (span, { msg }) => span.setAttribute('messaging.rabbitmq.redelivered', msg.fields.redelivered),
    }),
  ],
});

const amqp = require('amqplib');
const { ORDERS_QUEUE, INVOICES_QUEUE, ORDER_ID, INVOICE_ID } = process.env;

async function main() {
  const connection = await amqp.connect(process.env.AMQP_URL);
  const channel = await connection.createChannel();
  for (const queue of [ORDERS_QUEUE, INVOICES_QUEUE]) await channel.assertQueue(queue, { durable: false, autoDelete: false });
  const invoiced = new Promise((resolve) => {
    void channel.consume(INVOICES_QUEUE, (msg) => {
      // null: the broker cancelled the consumer (the queue is deleted at the end).
      if (!msg) return;
      channel.ack(msg);
      resolve();
    });
  });
  void channel.consume(ORDERS_QUEUE, (msg) => {
    if (!msg) return;
    if (!msg.fields.redelivered) {
      channel.nack(msg, false, true);
      return;
    }
    channel.publish('', INVOICES_QUEUE, Buffer.from('{"invoice":1}'), { messageId: INVOICE_ID, contentType: 'application/json' });
    channel.ack(msg);
  });
  channel.publish('', ORDERS_QUEUE, Buffer.from('{"order":1}'), { messageId: ORDER_ID, contentType: 'application/json' });
  await invoiced;
  for (const queue of [ORDERS_QUEUE, INVOICES_QUEUE]) await channel.deleteQueue(queue);
  await channel.close();
  await connection.close();
  await provider.forceFlush();
  await provider.shutdown();
  console.log('done');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
