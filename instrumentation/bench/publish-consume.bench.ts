/**
 * Instrumentation overhead: messages/s of a publish→consume loop over the real RabbitMQ with
 * (a) no tracing, (b) plain OpenTelemetry (amqplib instrumentation + BatchSpanProcessor +
 * OTLP/protobuf exporter) and (c) Onceflow (the same, plus Onceflow's span processor,
 * propagator and hooks, and `markProcessed` per message). Both exporters send to a local
 * sink that accepts and discards. Each run is its own process; runs are interleaved
 * (a b c a b c …) so load drift on a shared machine hits all variants alike; the median
 * per variant is reported. Target: (c) ≥ 0.95 × (b).
 *
 *   npm run bench:instrumentation            (BENCH_MESSAGES, BENCH_REPETITIONS to change)
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 4000);
const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 5);
const VARIANTS = ['none', 'otel', 'onceflow'] as const;
type Variant = (typeof VARIANTS)[number];

const worker = fileURLToPath(new URL('./publish-consume.worker.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));
// Variant (c) runs the compiled package, as users do.
await run(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', packageDir]);
const resultsDir = fileURLToPath(new URL('../../bench-results/', import.meta.url));

let sinkRequests = 0;
let sinkBytes = 0;
const sink = createServer((req, res) => {
  req.on('data', (chunk: Buffer) => (sinkBytes += chunk.length));
  req.on('end', () => {
    sinkRequests++;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
  });
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rates: Record<Variant, number[]> = { none: [], otel: [], onceflow: [] };
const cpu: Record<Variant, number[]> = { none: [], otel: [], onceflow: [] };
const exported: Record<Variant, number> = { none: 0, otel: 0, onceflow: 0 };
for (let rep = 1; rep <= REPETITIONS; rep++) {
  for (const variant of VARIANTS) {
    const bytesBefore = sinkBytes;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', worker, variant, String(MESSAGES), endpoint], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      timeout: 120_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { perSecond: number; cpuMicrosPerMessage: number };
    rates[variant].push(result.perSecond);
    cpu[variant].push(result.cpuMicrosPerMessage);
    exported[variant] += sinkBytes - bytesBefore;
    console.log(
      `rep ${rep} ${variant.padEnd(8)} ${result.perSecond.toFixed(0)} msg/s  ${result.cpuMicrosPerMessage.toFixed(0)} µs CPU/msg`,
    );
  }
}
sink.close();

const figures = Object.fromEntries(VARIANTS.map((v) => [v, median(rates[v])])) as Record<Variant, number>;
const cpuFigures = Object.fromEntries(VARIANTS.map((v) => [v, median(cpu[v])])) as Record<Variant, number>;
const ratios = {
  onceflowVsOtel: figures.onceflow / figures.otel,
  otelVsNone: figures.otel / figures.none,
  onceflowVsNone: figures.onceflow / figures.none,
};
const report = {
  benchmark: 'instrumentation publish→consume loop over RabbitMQ',
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  messagesPerRun: MESSAGES,
  repetitions: REPETITIONS,
  messagesPerSecond: {
    none: Math.round(figures.none),
    otel: Math.round(figures.otel),
    onceflow: Math.round(figures.onceflow),
  },
  runs: rates,
  cpuMicrosPerMessage: {
    none: Math.round(cpuFigures.none),
    otel: Math.round(cpuFigures.otel),
    onceflow: Math.round(cpuFigures.onceflow),
  },
  cpuRuns: cpu,
  /** CPU per message of (c) over (b): the overhead Onceflow adds, less disturbed by other load. */
  cpuOnceflowVsOtel: Number((cpuFigures.onceflow / cpuFigures.otel).toFixed(3)),
  ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, Number(v.toFixed(3))])),
  target: { onceflowVsOtel: 0.95, met: ratios.onceflowVsOtel >= 0.95 },
  exportedBytes: exported,
  sinkRequests,
};
console.log(`\n(a) no tracing      ${report.messagesPerSecond.none} msg/s`);
console.log(`(b) OpenTelemetry   ${report.messagesPerSecond.otel} msg/s   (${ratios.otelVsNone.toFixed(3)}× a)`);
console.log(
  `(c) Onceflow        ${report.messagesPerSecond.onceflow} msg/s   (${ratios.onceflowVsOtel.toFixed(3)}× b, ${ratios.onceflowVsNone.toFixed(3)}× a)`,
);
console.log(
  `CPU per message: a ${report.cpuMicrosPerMessage.none} µs, b ${report.cpuMicrosPerMessage.otel} µs, c ${report.cpuMicrosPerMessage.onceflow} µs (c/b ${report.cpuOnceflowVsOtel})`,
);
console.log(`target (c) ≥ 0.95 × (b): ${report.target.met ? 'met' : 'NOT met'}`);
mkdirSync(resultsDir, { recursive: true });
writeFileSync(`${resultsDir}instrumentation.json`, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written to bench-results/instrumentation.json`);
