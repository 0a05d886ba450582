/**
 * The `onceflow` command (bin/onceflow.js imports this module). The only place that reads
 * the environment and process arguments: parses them into a `ServeConfig`, starts the
 * collector, optionally the sample shop's demo traffic, and shuts down gracefully on
 * SIGINT/SIGTERM. Exit status: 0 after a clean stop, 1 when start-up fails, 2 for bad usage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { INGEST_LOG_DIR, startCollector, VERSION, type RunningCollector } from './app.js';
import { parseCommandLine, UsageError, type ServeConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';

const require = createRequire(import.meta.url);
/** A stop that takes longer than this (a hung store) is cut short. */
const SHUTDOWN_TIMEOUT_MS = 20_000;

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let command;
  try {
    command = parseCommandLine(argv, env, (path) => readFileSync(path, 'utf8'));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`onceflow: ${error.message}\nRun "onceflow --help" for usage.\n`);
    process.exit(2);
  }
  if (command.command === 'help') return void process.stdout.write(command.text);
  if (command.command === 'version') return void process.stdout.write(`${VERSION}\n`);

  const config = { ...command.config, dashboardDir: command.config.dashboardDir ?? findDashboard() };
  const logger = createLogger({ level: config.logLevel });
  let collector: RunningCollector;
  try {
    collector = await startCollector(config, { logger });
  } catch (error) {
    logger.fatal({ err: error }, 'onceflow could not start');
    process.stderr.write(`onceflow: could not start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  announce(config, collector, logger);
  const demo = config.demo ? startDemo(config, collector.otlpUrl, logger) : null;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: flushing acknowledged spans');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    demo?.kill('SIGTERM');
    try {
      await collector.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

function announce(config: ServeConfig, collector: RunningCollector, logger: Logger): void {
  const store =
    collector.store.kind === 'duckdb'
      ? `embedded DuckDB in ${resolve(config.dataDir)}`
      : `ClickHouse at ${config.clickhouseUrl}${config.clickhouseCluster ? ` (cluster ${config.clickhouseCluster})` : ''}`;
  const exporterHeaders = config.ingestToken ? ` OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <ingest token>"` : '';
  logger.info({ ui: collector.apiUrl, otlp: collector.otlpUrl, store: collector.store.kind, version: VERSION }, 'onceflow is running');
  process.stderr.write(
    [
      `Onceflow ${VERSION} is running (store: ${store})`,
      `  Dashboard and API:  ${collector.apiUrl}  (health: ${collector.apiUrl}/api/health)`,
      `  OTLP/HTTP traces:   ${collector.otlpUrl}/v1/traces`,
      `  Ingest log:         ${resolve(config.dataDir, INGEST_LOG_DIR)} (up to ${config.spoolMaxBytes} bytes not yet stored)`,
      `  Point an OpenTelemetry SDK at it: OTEL_EXPORTER_OTLP_ENDPOINT=${collector.otlpUrl}${exporterHeaders}`,
      '',
    ].join('\n'),
  );
}

/** `dashboard/dist` of the installed `@onceflow/dashboard`, if it is there. */
function findDashboard(): string | null {
  try {
    return join(dirname(require.resolve('@onceflow/dashboard/package.json')), 'dist');
  } catch {
    return null;
  }
}

/** Runs the sample shop's demo traffic as a child process; keeps serving if it is missing or fails. */
function startDemo(config: ServeConfig, otlpUrl: string, logger: Logger): ChildProcess | null {
  let demoScript: string;
  try {
    demoScript = join(dirname(require.resolve('@onceflow/samples/package.json')), 'dist', 'demo.js');
  } catch {
    logger.warn('--demo: the @onceflow/samples package is not installed; serving without demo traffic');
    return null;
  }
  if (!existsSync(demoScript)) {
    logger.warn(
      { expected: demoScript },
      '--demo: the samples are not built (run `npm run build` at the repository root); serving without demo traffic',
    );
    return null;
  }
  const args = [demoScript, '--otlp', otlpUrl, ...(config.scenario ? ['--scenario', config.scenario] : [])];
  logger.info({ script: demoScript, scenario: config.scenario }, 'starting demo traffic');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('error', (error) => logger.error({ err: error }, 'demo traffic failed to start'));
  child.on('exit', (code, signal) => {
    if (code === 0 || signal === 'SIGTERM') logger.info({ code, signal }, 'demo traffic ended');
    else logger.warn({ code, signal }, 'demo traffic exited; the collector keeps serving');
  });
  return child;
}

main(process.argv.slice(2), process.env).catch((error: unknown) => {
  process.stderr.write(`onceflow: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
