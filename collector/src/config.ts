/**
 * Configuration of `onceflow serve`: defaults, `ONCEFLOW_*` environment variables and command-line
 * flags, merged in that order (flags win). Pure: `parseCommandLine(argv, env)` reads nothing
 * itself, so precedence and validation are unit-tested; only `cli.ts` passes the real ones in.
 */
import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogLevel } from './logger.js';

export interface ServeConfig {
  /** Port of the REST API and dashboard. */
  port: number;
  /** Port of the OTLP/HTTP receiver (`POST /v1/traces`). */
  otlpPort: number;
  /** Interface both servers bind; loopback unless told otherwise. */
  host: string;
  /**
   * Data directory: the ingest log (`<dataDir>/ingest-log`) with either store, and the
   * embedded store (`<dataDir>/onceflow.duckdb`) unless ClickHouse is used.
   */
  dataDir: string;
  /** Bytes the ingest log may hold that the store has not taken yet; beyond, OTLP requests get 503. */
  spoolMaxBytes: number;
  /**
   * The embedded store's memory limit (DuckDB's buffer pool: uncheckpointed data, indexes,
   * query operators, which spill to disk beyond it). DuckDB's own default is 80 % of the
   * machine's memory; a collector beside the services it watches should take a known share.
   */
  storeMemoryBytes: number;
  /** Bearer token OTLP exporters must send; null accepts any request. */
  ingestToken: string | null;
  /** Bearer token the API and dashboard require; null serves anyone who reaches the port. */
  apiToken: string | null;
  /** Allow binding a non-loopback address without both tokens. */
  insecure: boolean;
  /** Use ClickHouse at this URL instead of the embedded store. */
  clickhouseUrl: string | null;
  /** ClickHouse database holding Onceflow's tables (created at start); several collectors may share one. */
  clickhouseDatabase: string;
  /** A cluster in the ClickHouse servers' `remote_servers`: tables are created ON CLUSTER, sharded and replicated; null = one server. */
  clickhouseCluster: string | null;
  /** Spans and flow records older than this are dropped; 0 keeps everything. */
  retentionMs: number;
  /** A conversation with no new spans for this long is judged (lost messages, complete or not). */
  quietPeriodMs: number;
  /** History a (endpoint, message type) needs before storms are reported for it. */
  stormLearningMs: number;
  /** Run the sample shop's demo traffic against this collector. */
  demo: boolean;
  /** Demo fault scenario (implies `demo`). */
  scenario: string | null;
  /** Built dashboard to serve; null finds `@onceflow/dashboard/dist`. */
  dashboardDir: string | null;
  logLevel: LogLevel;
}

export const DEFAULT_CONFIG: ServeConfig = {
  port: 8080,
  otlpPort: 4318,
  host: '127.0.0.1',
  dataDir: './.onceflow',
  spoolMaxBytes: 1024 ** 3,
  storeMemoryBytes: 1024 ** 3,
  ingestToken: null,
  apiToken: null,
  insecure: false,
  clickhouseUrl: null,
  clickhouseDatabase: 'onceflow',
  clickhouseCluster: null,
  retentionMs: 7 * 24 * 3_600_000,
  quietPeriodMs: 30_000,
  stormLearningMs: 30 * 60_000,
  demo: false,
  scenario: null,
  dashboardDir: null,
  logLevel: 'info',
};

/** History a key needs before storms are reported for it when the demo traffic runs. */
export const DEMO_STORM_LEARNING_MS = 5 * 60_000;

export type Command = { command: 'serve'; config: ServeConfig } | { command: 'help'; text: string } | { command: 'version' };

/** A bad flag, variable or value: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: onceflow serve [options]

Runs the Onceflow collector: the OTLP/HTTP receiver, the flow indexer, the REST API and the
dashboard.

Options (environment variable in brackets; flags override the environment):
  --port N             REST API and dashboard port            [ONCEFLOW_PORT]        (8080)
  --otlp-port N        OTLP/HTTP receiver port (/v1/traces)   [ONCEFLOW_OTLP_PORT]   (4318)
  --host HOST          interface to bind                      [ONCEFLOW_HOST]        (127.0.0.1)
  --data DIR           data directory: ingest log (always)    [ONCEFLOW_DATA]        (./.onceflow)
                       and the embedded store (without --clickhouse)
  --clickhouse URL     store spans in ClickHouse instead      [ONCEFLOW_CLICKHOUSE_URL]
  --clickhouse-database NAME  its database                    [ONCEFLOW_CLICKHOUSE_DATABASE] (onceflow)
  --clickhouse-cluster NAME   create the tables ON CLUSTER NAME,  [ONCEFLOW_CLICKHOUSE_CLUSTER]
                       sharded and replicated (see the ClickHouse store's README)
  --spool-max SIZE     ingest log bytes not yet stored before [ONCEFLOW_SPOOL_MAX]   (1GiB)
                       OTLP requests get 503 + Retry-After
  --store-memory SIZE  the embedded store's memory limit      [ONCEFLOW_STORE_MEMORY] (1GiB)
                       (DuckDB spills to disk beyond it)
  --ingest-token T     bearer token OTLP exporters must send  [ONCEFLOW_INGEST_TOKEN]
  --ingest-token-file F  the same, read from file F           [ONCEFLOW_INGEST_TOKEN_FILE]
  --api-token T        bearer token for the API and dashboard [ONCEFLOW_API_TOKEN]
  --api-token-file F   the same, read from file F             [ONCEFLOW_API_TOKEN_FILE]
  --insecure           allow a non-loopback --host without    [ONCEFLOW_INSECURE=1]
                       both tokens
  --retention AGE      drop data older than AGE, 0 = keep     [ONCEFLOW_RETENTION]   (7d)
  --quiet-period AGE   judge a flow after AGE without spans   [ONCEFLOW_QUIET_PERIOD] (30s)
  --storm-learning AGE report storms of a key after AGE of it [ONCEFLOW_STORM_LEARNING] (30m; 5m with --demo)
  --demo               run the sample shop's demo traffic     [ONCEFLOW_DEMO=1]
  --scenario NAME      demo fault scenario (implies --demo)   [ONCEFLOW_SCENARIO]
  --dashboard DIR      built dashboard to serve               [ONCEFLOW_DASHBOARD_DIR]
  --log-level LEVEL    ${LOG_LEVELS.join(', ')}     [ONCEFLOW_LOG_LEVEL]   (info)
  -h, --help           show this help
  -v, --version        show the version

AGE is a number with a unit: ms, s, m, h, d or w (e.g. 500ms, 30s, 7d). SIZE is bytes or a
number with KiB, MiB, GiB (or KB, MB, GB). Exporters send the ingest token with
OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token>".
`;

const OPTIONS = {
  port: { type: 'string' },
  'otlp-port': { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  clickhouse: { type: 'string' },
  'clickhouse-database': { type: 'string' },
  'clickhouse-cluster': { type: 'string' },
  'spool-max': { type: 'string' },
  'store-memory': { type: 'string' },
  'ingest-token': { type: 'string' },
  'ingest-token-file': { type: 'string' },
  'api-token': { type: 'string' },
  'api-token-file': { type: 'string' },
  insecure: { type: 'boolean' },
  retention: { type: 'string' },
  'quiet-period': { type: 'string' },
  'storm-learning': { type: 'string' },
  demo: { type: 'boolean' },
  scenario: { type: 'string' },
  dashboard: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** Flag name → environment variable. */
const ENV_NAMES: Record<string, string> = {
  port: 'ONCEFLOW_PORT',
  'otlp-port': 'ONCEFLOW_OTLP_PORT',
  host: 'ONCEFLOW_HOST',
  data: 'ONCEFLOW_DATA',
  clickhouse: 'ONCEFLOW_CLICKHOUSE_URL',
  'clickhouse-database': 'ONCEFLOW_CLICKHOUSE_DATABASE',
  'clickhouse-cluster': 'ONCEFLOW_CLICKHOUSE_CLUSTER',
  'spool-max': 'ONCEFLOW_SPOOL_MAX',
  'store-memory': 'ONCEFLOW_STORE_MEMORY',
  'ingest-token': 'ONCEFLOW_INGEST_TOKEN',
  'ingest-token-file': 'ONCEFLOW_INGEST_TOKEN_FILE',
  'api-token': 'ONCEFLOW_API_TOKEN',
  'api-token-file': 'ONCEFLOW_API_TOKEN_FILE',
  insecure: 'ONCEFLOW_INSECURE',
  retention: 'ONCEFLOW_RETENTION',
  'quiet-period': 'ONCEFLOW_QUIET_PERIOD',
  'storm-learning': 'ONCEFLOW_STORM_LEARNING',
  demo: 'ONCEFLOW_DEMO',
  scenario: 'ONCEFLOW_SCENARIO',
  dashboard: 'ONCEFLOW_DASHBOARD_DIR',
  'log-level': 'ONCEFLOW_LOG_LEVEL',
};

/** Reads a token file; the CLI passes `readFileSync`, tests a map. */
export type ReadSecret = (path: string) => string;

const noFiles: ReadSecret = (path) => {
  throw new Error(`cannot read ${path} here`);
};

export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readSecret: ReadSecret = noFiles,
): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help') return { command: 'help', text: USAGE };
  if (values.version) return { command: 'version' };
  const [command = 'serve', ...rest] = positionals;
  if (command !== 'serve') throw new UsageError(`unknown command "${command}"`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);

  /** The flag's value, else the environment's, with where it came from for error messages. */
  const pick = (flag: keyof typeof ENV_NAMES & keyof typeof values): { value: string; source: string } | null => {
    const fromFlag = values[flag];
    if (typeof fromFlag === 'string') return { value: fromFlag, source: `--${flag}` };
    const envName = ENV_NAMES[flag];
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: envName };
    return null;
  };
  const config: ServeConfig = { ...DEFAULT_CONFIG };
  const port = pick('port');
  if (port) config.port = parsePort(port.value, port.source);
  const otlpPort = pick('otlp-port');
  if (otlpPort) config.otlpPort = parsePort(otlpPort.value, otlpPort.source);
  const host = pick('host');
  if (host) config.host = parseNonEmpty(host.value, host.source);
  const data = pick('data');
  if (data) config.dataDir = parseNonEmpty(data.value, data.source);
  const clickhouse = pick('clickhouse');
  if (clickhouse) config.clickhouseUrl = parseHttpUrl(clickhouse.value, clickhouse.source);
  const database = pick('clickhouse-database');
  if (database) config.clickhouseDatabase = parseClickHouseName(database.value, database.source);
  if (database && !config.clickhouseUrl) {
    throw new UsageError(`${database.source} needs --clickhouse URL (ONCEFLOW_CLICKHOUSE_URL)`);
  }
  const cluster = pick('clickhouse-cluster');
  if (cluster) config.clickhouseCluster = parseClickHouseName(cluster.value, cluster.source);
  if (cluster && !config.clickhouseUrl) {
    throw new UsageError(`${cluster.source} needs --clickhouse URL (ONCEFLOW_CLICKHOUSE_URL)`);
  }
  const spoolMax = pick('spool-max');
  if (spoolMax) config.spoolMaxBytes = parseSize(spoolMax.value, spoolMax.source);
  const storeMemory = pick('store-memory');
  if (storeMemory) config.storeMemoryBytes = parseSize(storeMemory.value, storeMemory.source);
  if (storeMemory && config.clickhouseUrl) {
    throw new UsageError(`${storeMemory.source} sets the embedded store's memory; ClickHouse's is set in its server configuration`);
  }
  config.ingestToken = pickToken(pick('ingest-token'), pick('ingest-token-file'), readSecret);
  config.apiToken = pickToken(pick('api-token'), pick('api-token-file'), readSecret);
  config.insecure = values.insecure === true || (values.insecure === undefined && parseFlagEnv(env.ONCEFLOW_INSECURE, 'ONCEFLOW_INSECURE'));
  const retention = pick('retention');
  if (retention) config.retentionMs = parseDuration(retention.value, retention.source, { allowZero: true });
  const quiet = pick('quiet-period');
  if (quiet) config.quietPeriodMs = parseDuration(quiet.value, quiet.source, { allowZero: false });
  const learning = pick('storm-learning');
  if (learning) config.stormLearningMs = parseDuration(learning.value, learning.source, { allowZero: true });
  const scenario = pick('scenario');
  if (scenario) config.scenario = parseScenario(scenario.value, scenario.source);
  const dashboard = pick('dashboard');
  if (dashboard) config.dashboardDir = parseNonEmpty(dashboard.value, dashboard.source);
  const logLevel = pick('log-level');
  if (logLevel) config.logLevel = parseLogLevel(logLevel.value, logLevel.source);
  config.demo = values.demo === true || (values.demo === undefined && parseFlagEnv(env.ONCEFLOW_DEMO, 'ONCEFLOW_DEMO'));
  if (config.scenario) config.demo = true;
  // The demo's traffic starts with the collector: its first screen should show storms, not 30
  // minutes of every key learning.
  if (config.demo && !learning) config.stormLearningMs = DEMO_STORM_LEARNING_MS;
  if (config.port !== 0 && config.port === config.otlpPort) {
    throw new UsageError(`--port and --otlp-port must differ (both are ${config.port})`);
  }
  refuseExposedWithoutTokens(config);
  return { command: 'serve', config };
}

/** Loopback addresses: only this machine can reach a server bound to them. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function refuseExposedWithoutTokens(config: ServeConfig): void {
  if (isLoopbackHost(config.host) || config.insecure) return;
  const risks = [
    config.ingestToken ? null : { flag: '--ingest-token', risk: 'write spans' },
    config.apiToken ? null : { flag: '--api-token', risk: 'read every flow' },
  ].filter((entry) => entry !== null);
  if (risks.length === 0) return;
  throw new UsageError(
    `refusing to bind ${config.host} without ${risks.map((r) => r.flag).join(' and ')}: other machines can reach that address, ` +
      `and anyone who can could ${risks.map((r) => r.risk).join(' and ')}. Set the token(s) (or their -file / ONCEFLOW_* forms), ` +
      `bind 127.0.0.1, or pass --insecure to serve it open anyway`,
  );
}

function pickToken(
  direct: { value: string; source: string } | null,
  file: { value: string; source: string } | null,
  readSecret: ReadSecret,
): string | null {
  if (direct && file) throw new UsageError(`${direct.source} and ${file.source} both give the token: use one`);
  if (direct) return parseToken(direct.value, direct.source);
  if (!file) return null;
  let content: string;
  try {
    content = readSecret(file.value);
  } catch (error) {
    throw new UsageError(`${file.source}: cannot read "${file.value}": ${(error as Error).message}`);
  }
  return parseToken(content.trim(), `${file.source} (${file.value})`);
}

/** Tokens travel in an HTTP header: printable ASCII without spaces, and long enough to resist guessing. */
function parseToken(value: string, source: string): string {
  if (!/^[\x21-\x7e]{16,4096}$/.test(value)) {
    throw new UsageError(`${source} must be 16 to 4096 printable characters without spaces (e.g. from \`openssl rand -hex 32\`)`);
  }
  return value;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `1GiB`, `512MiB`, `100MB`, `1048576`: at least 1 MiB. */
export function parseSize(value: string, source: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? SIZE_UNITS[match[2].toLowerCase()] : undefined;
  const bytes = match && unit ? Math.floor(Number(match[1]) * unit) : NaN;
  if (!Number.isFinite(bytes) || bytes < 1024 ** 2 || bytes > 2 ** 50) {
    throw new UsageError(`${source} must be a size of at least 1MiB such as 512MiB or 2GiB, got "${value}"`);
  }
  return bytes;
}

export function parsePort(value: string, source: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) {
    throw new UsageError(`${source} must be a port number from 0 to 65535, got "${value}"`);
  }
  return Number(value);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `500ms`, `30s`, `5m`, `2h`, `7d`, `1w` (decimals allowed, e.g. `1.5h`); `0` when allowed. */
export function parseDuration(value: string, source: string, { allowZero }: { allowZero: boolean }): number {
  const trimmed = value.trim();
  if (allowZero && (trimmed === '0' || trimmed === 'off')) return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(trimmed);
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2]]) : NaN;
  if (!match || !Number.isFinite(ms) || ms <= 0 || ms > 10 * 366 * UNIT_MS.d) {
    const zero = allowZero ? ', or 0 to keep everything' : '';
    throw new UsageError(`${source} must be a duration such as 500ms, 30s, 5m, 2h or 7d${zero}, got "${value}"`);
  }
  return ms;
}

function parseNonEmpty(value: string, source: string): string {
  if (value.trim() === '') throw new UsageError(`${source} must not be empty`);
  return value;
}

function parseHttpUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${source} must be an http(s) URL such as http://127.0.0.1:8123, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source} must be an http(s) URL (ClickHouse's HTTP interface), got "${value}"`);
  }
  return value;
}

/** A database or cluster name: an identifier (the store quotes it, but a typo is better caught here). */
function parseClickHouseName(value: string, source: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value)) {
    throw new UsageError(`${source} must be a ClickHouse name (letters, digits and _, not starting with a digit), got "${value}"`);
  }
  return value;
}

function parseScenario(value: string, source: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(value)) {
    throw new UsageError(`${source} must be a scenario name (letters, digits, - and _), got "${value}"`);
  }
  return value;
}

function parseLogLevel(value: string, source: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new UsageError(`${source} must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  }
  return value as LogLevel;
}

function parseFlagEnv(value: string | undefined, source: string): boolean {
  if (value === undefined || value === '') return false;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new UsageError(`${source} must be 1/true or 0/false, got "${value}"`);
}
