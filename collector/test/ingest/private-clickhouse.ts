/**
 * A private ClickHouse server for fault tests that stop and restart it: the machine's
 * `clickhouse-server` binary with its own config, ports and data directory under a temporary
 * directory. The shared server (127.0.0.1:8123) is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's package (and others) install the server binary; ONCEFLOW_TEST_CLICKHOUSE_SERVER overrides. */
export const CLICKHOUSE_SERVER_BINARY =
  process.env.ONCEFLOW_TEST_CLICKHOUSE_SERVER ??
  ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server', '/usr/bin/clickhouse'].find((path) => existsSync(path)) ??
  'clickhouse-server';

/** Resolves when the binary exists; rejects saying where it was looked for. */
export async function probeClickHouseBinary(): Promise<void> {
  if (!existsSync(CLICKHOUSE_SERVER_BINARY))
    throw new Error(`no clickhouse-server binary (looked in /usr/sbin, /usr/bin; set ONCEFLOW_TEST_CLICKHOUSE_SERVER)`);
}

/** A port the OS reports free now (for servers that cannot bind port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const config = (dir: string, httpPort: number, tcpPort: number, extra: string) => `<?xml version="1.0"?>
<yandex>${extra}
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><console>0</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <mark_cache_size>67108864</mark_cache_size>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
</yandex>
`;

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

export interface PrivateClickHouse {
  url: string;
  /** Starts (or restarts) the server on the same ports and data; resolves once it answers /ping. */
  start(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after 15 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

export interface PrivateClickHouseOptions {
  /** Ports chosen by the caller (a cluster's nodes must know each other's before they start); free ones otherwise. */
  httpPort?: number;
  tcpPort?: number;
  /** More top-level config elements (ZooKeeper, macros, remote_servers of a cluster). */
  extraConfig?: string;
}

export async function createPrivateClickHouse(options: PrivateClickHouseOptions = {}): Promise<PrivateClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), 'onceflow-private-clickhouse-'));
  const httpPort = options.httpPort ?? (await freePort());
  const tcpPort = options.tcpPort ?? (await freePort());
  writeFileSync(join(dir, 'config.xml'), config(dir, httpPort, tcpPort, options.extraConfig ?? ''));
  writeFileSync(join(dir, 'users.xml'), USERS);
  const url = `http://127.0.0.1:${httpPort}`;
  let child: ChildProcess | null = null;

  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    const killer = setTimeout(() => running.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  };

  return {
    url,
    async start() {
      const args = CLICKHOUSE_SERVER_BINARY.endsWith('/clickhouse') ? ['server'] : [];
      child = spawn(CLICKHOUSE_SERVER_BINARY, [...args, `--config-file=${join(dir, 'config.xml')}`], { cwd: dir, stdio: 'ignore' });
      const started = child;
      let spawnError: Error | null = null;
      started.once('error', (error) => (spawnError = error));
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (spawnError) throw spawnError;
        if (started.exitCode !== null)
          throw new Error(`private clickhouse-server exited with ${started.exitCode}; see ${dir}/server.err.log`);
        try {
          if ((await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) })).ok) return;
        } catch {
          // Not listening yet.
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error('private clickhouse-server did not answer /ping within 60 s');
    },
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
