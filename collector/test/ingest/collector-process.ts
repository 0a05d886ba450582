/**
 * Runs the real `onceflow serve` (collector/src/cli.ts through tsx, with the bin's Node flags)
 * as a child process, for fault tests that kill it or measure its memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inCI } from '@onceflow/test-support';
import { freePort } from './private-clickhouse.js';

const SOURCE_CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const BUILT_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
/**
 * In CI, `npm test` builds first, so the compiled CLI is current and starts in a fraction of
 * tsx's time (the kill test starts the collector 21 times); elsewhere the sources run, so a
 * stale build is never tested.
 */
const CLI_ARGS = inCI && existsSync(BUILT_CLI) ? [BUILT_CLI] : ['--import', 'tsx', SOURCE_CLI];

export interface CollectorProcess {
  child: ChildProcess;
  otlpUrl: string;
  apiUrl: string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Everything written to stdout (the JSON log lines) so far. */
  stdout(): string;
  /** Resident set size of the process now, in bytes (Linux /proc). */
  rssBytes(): number;
  kill9(): Promise<void>;
  /** SIGTERM: a graceful stop; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the collector; resolves once it says it is running, rejects if it exits first. */
export async function startCollectorProcess(args: string[], env: Record<string, string> = {}): Promise<CollectorProcess> {
  const [port, otlpPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=64',
      ...CLI_ARGS,
      'serve',
      '--port',
      String(port),
      '--otlp-port',
      String(otlpPort),
      '--log-level',
      'warn',
      ...args,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start in 60 s:\n${stderr}`)), 60_000);
    const onData = () => {
      if (stderr.includes('is running')) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code} before it was running:\n${stderr}`));
    });
  });
  return {
    child,
    otlpUrl: `http://127.0.0.1:${otlpPort}`,
    apiUrl: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    stdout: () => stdout,
    rssBytes: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Spawns the CLI and waits for it to exit (for start-up refusals); resolves with its exit code and stderr. */
export async function runCollectorToExit(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve', '--port', '0', '--otlp-port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, stderr };
}
