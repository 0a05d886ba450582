/**
 * One benchmark run in its own process (instrumentation is process-global): a windowed
 * publish→consume loop over RabbitMQ, with tracing set up per variant before amqplib loads.
 *
 *   tsx publish-consume.worker.ts <none|otel|onceflow> <messages> <otlp endpoint>
 *
 * Prints one JSON line: { variant, messages, seconds, perSecond, cpuMicrosPerMessage } — the
 * CPU time of this process (user + system, export included) per message, which a busy shared
 * machine disturbs much less than wall-clock throughput.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

type Variant = 'none' | 'otel' | 'onceflow';
const [variant, countArg, endpoint] = process.argv.slice(2) as [Variant, string, string];
const messages = Number(countArg);
const WINDOW = 50;
const WARMUP = 300;
const AMQP_URL = process.env.ONCEFLOW_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function startTracing(): Promise<{ flush: () => Promise<void>; markProcessed: () => void }> {
  const none = { flush: async () => undefined, markProcessed: () => undefined };
  if (variant === 'none') return none;
  if (variant === 'otel') {
    const { NodeSDK } = await import('@opentelemetry/sdk-node');
    const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    const { AmqplibInstrumentation } = await import('@opentelemetry/instrumentation-amqplib');
    const sdk = new NodeSDK({
      serviceName: 'bench-otel',
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }))],
      instrumentations: [new AmqplibInstrumentation()],
      metricReaders: [],
      logRecordProcessors: [],
    });
    sdk.start();
    return { flush: () => sdk.shutdown().catch(() => undefined), markProcessed: () => undefined };
  }
  // The compiled package, as users run it (the parent builds it first).
  const onceflow = (await import('../dist/index.js' as string)) as typeof import('../src/index.js');
  const handle = onceflow.startOnceflow({
    serviceName: 'bench-onceflow',
    endpoint,
    instrumentations: { amqplib: true, http: false, express: false, undici: false },
  });
  return { flush: () => handle.shutdown(), markProcessed: () => onceflow.markProcessed() };
}

async function main(): Promise<void> {
  const tracing = await startTracing();
  const amqp = createRequire(import.meta.url)('amqplib') as typeof import('amqplib');
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  const queue = `onceflow-bench-${randomUUID().slice(0, 8)}`;
  await channel.assertQueue(queue, { durable: false });
  await channel.prefetch(WINDOW * 2);
  const body = Buffer.from(JSON.stringify({ orderId: 'order-1', amount: 42, items: ['a', 'b', 'c'] }));

  const loop = (total: number) =>
    new Promise<number>((resolve) => {
      let sent = 0;
      let received = 0;
      const started = process.hrtime.bigint();
      const publish = () => {
        sent++;
        channel.sendToQueue(queue, body, { type: 'OrderPlaced' });
      };
      void channel
        .consume(queue, (msg) => {
          if (!msg) return;
          received++;
          tracing.markProcessed();
          channel.ack(msg);
          if (sent < total) publish();
          if (received === total) {
            void channel.cancel(msg.fields.consumerTag).then(() => resolve(Number(process.hrtime.bigint() - started) / 1e9));
          }
        })
        .then(() => {
          for (let i = 0; i < Math.min(WINDOW, total); i++) publish();
        });
    });

  await loop(WARMUP);
  const cpuBefore = process.cpuUsage();
  const seconds = await loop(messages);
  const cpu = process.cpuUsage(cpuBefore);
  await channel.deleteQueue(queue);
  await connection.close();
  await tracing.flush();
  const cpuMicrosPerMessage = (cpu.user + cpu.system) / messages;
  console.log(JSON.stringify({ variant, messages, seconds, perSecond: messages / seconds, cpuMicrosPerMessage }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
