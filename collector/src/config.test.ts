import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, DEMO_STORM_LEARNING_MS, parseCommandLine, parseDuration, UsageError, type ServeConfig } from './config.js';

const serve = (argv: string[], env: Record<string, string> = {}): ServeConfig => {
  const command = parseCommandLine(argv, env);
  if (command.command !== 'serve') throw new Error(`expected serve, got ${command.command}`);
  return command.config;
};

describe('parseCommandLine', () => {
  it('uses the defaults, binding loopback', () => {
    expect(serve(['serve'])).toEqual(DEFAULT_CONFIG);
    expect(serve([]).host).toBe('127.0.0.1');
  });

  it('reads every flag', () => {
    const config = serve([
      'serve',
      '--port',
      '9090',
      '--otlp-port',
      '14318',
      '--host',
      '0.0.0.0',
      '--data',
      '/tmp/x',
      '--clickhouse',
      'http://ch:8123',
      '--clickhouse-database',
      'shop_flows',
      '--clickhouse-cluster',
      'flows_cluster',
      '--retention',
      '3d',
      '--quiet-period',
      '10s',
      '--scenario',
      'duplicate-storm',
      '--storm-learning',
      '2h',
      '--log-level',
      'debug',
      '--dashboard',
      '/srv/dash',
      '--spool-max',
      '256MiB',
      '--ingest-token',
      'ingest-token-0123456789',
      '--api-token',
      'api-token-0123456789',
    ]);
    expect(config).toEqual({
      port: 9090,
      otlpPort: 14318,
      host: '0.0.0.0',
      dataDir: '/tmp/x',
      spoolMaxBytes: 256 * 1024 ** 2,
      storeMemoryBytes: 1024 ** 3,
      ingestToken: 'ingest-token-0123456789',
      apiToken: 'api-token-0123456789',
      insecure: false,
      clickhouseUrl: 'http://ch:8123',
      clickhouseDatabase: 'shop_flows',
      clickhouseCluster: 'flows_cluster',
      retentionMs: 3 * 86_400_000,
      quietPeriodMs: 10_000,
      stormLearningMs: 7_200_000,
      demo: true,
      scenario: 'duplicate-storm',
      dashboardDir: '/srv/dash',
      logLevel: 'debug',
    });
  });

  it('reads ONCEFLOW_* variables, and flags override them', () => {
    const env = {
      ONCEFLOW_PORT: '7000',
      ONCEFLOW_OTLP_PORT: '7001',
      ONCEFLOW_HOST: '::1',
      ONCEFLOW_DATA: '/env/data',
      ONCEFLOW_CLICKHOUSE_URL: 'https://ch.example:8443',
      ONCEFLOW_RETENTION: '0',
      ONCEFLOW_QUIET_PERIOD: '1m',
      ONCEFLOW_DEMO: 'true',
      ONCEFLOW_STORM_LEARNING: '10m',
    };
    const fromEnv = serve(['serve'], env);
    expect(fromEnv).toMatchObject({
      port: 7000,
      otlpPort: 7001,
      host: '::1',
      dataDir: '/env/data',
      clickhouseUrl: 'https://ch.example:8443',
      retentionMs: 0,
      quietPeriodMs: 60_000,
      stormLearningMs: 600_000,
      demo: true,
    });
    const overridden = serve(['serve', '--port', '7100', '--data', '/flag/data', '--quiet-period', '5s'], env);
    expect(overridden).toMatchObject({ port: 7100, otlpPort: 7001, dataDir: '/flag/data', quietPeriodMs: 5000 });
  });

  it('learns storm baselines for 5 minutes with the demo traffic, unless told otherwise', () => {
    expect(serve(['serve']).stormLearningMs).toBe(30 * 60_000);
    expect(serve(['serve', '--demo']).stormLearningMs).toBe(DEMO_STORM_LEARNING_MS);
    expect(serve(['serve', '--scenario', 'retries']).stormLearningMs).toBe(DEMO_STORM_LEARNING_MS);
    expect(serve(['serve', '--demo', '--storm-learning', '1h']).stormLearningMs).toBe(3_600_000);
  });

  it('reads tokens from flags, files and ONCEFLOW_* variables', () => {
    const files: Record<string, string> = {
      '/run/secrets/ingest': 'from-file-ingest-0123\n',
      '/run/secrets/api': '  from-file-api-0123456  \n',
    };
    const readSecret = (path: string) => {
      if (!(path in files)) throw new Error('ENOENT: no such file');
      return files[path];
    };
    const parse = (argv: string[], env: Record<string, string> = {}) => {
      const command = parseCommandLine(argv, env, readSecret);
      if (command.command !== 'serve') throw new Error('expected serve');
      return command.config;
    };
    expect(parse(['--ingest-token-file', '/run/secrets/ingest', '--api-token-file', '/run/secrets/api'])).toMatchObject({
      ingestToken: 'from-file-ingest-0123',
      apiToken: 'from-file-api-0123456',
    });
    expect(
      parse([], {
        ONCEFLOW_INGEST_TOKEN: 'env-ingest-token-0123',
        ONCEFLOW_API_TOKEN_FILE: '/run/secrets/api',
        ONCEFLOW_SPOOL_MAX: '2GiB',
      }),
    ).toMatchObject({
      ingestToken: 'env-ingest-token-0123',
      apiToken: 'from-file-api-0123456',
      spoolMaxBytes: 2 * 1024 ** 3,
    });
    expect(() => parse(['--api-token-file', '/nope'])).toThrow(/--api-token-file: cannot read "\/nope": ENOENT/);
    expect(() => parse(['--api-token', 'short'])).toThrow(/--api-token must be 16 to 4096 printable characters/);
    expect(() => parse(['--api-token', 'a token with spaces in it'])).toThrow(UsageError);
    expect(() => parse(['--api-token', 'api-token-0123456789', '--api-token-file', '/run/secrets/api'])).toThrow(/use one/);
  });

  it.each([
    [
      '0.0.0.0',
      [],
      /refusing to bind 0\.0\.0\.0 without --ingest-token and --api-token: other machines can reach that address, and anyone who can could write spans and read every flow/,
    ],
    ['10.0.0.5', ['--ingest-token', 'ingest-token-0123456789'], /without --api-token: .* could read every flow/],
    ['::', ['--api-token', 'api-token-0123456789'], /without --ingest-token: .* could write spans\. .*--insecure/],
  ])('refuses to bind %s without both tokens', (host, flags, message) => {
    expect(() => serve(['--host', host, ...flags])).toThrow(message);
  });

  it.each([
    ['loopback', ['--host', '127.0.0.1']],
    ['localhost', ['--host', 'localhost']],
    ['IPv6 loopback', ['--host', '::1']],
    ['--insecure', ['--host', '0.0.0.0', '--insecure']],
    ['both tokens', ['--host', '0.0.0.0', '--ingest-token', 'ingest-token-0123456789', '--api-token', 'api-token-0123456789']],
  ])('binds without tokens on %s', (_label, argv) => {
    expect(() => serve(argv)).not.toThrow();
    expect(serve(['--host', '0.0.0.0'], { ONCEFLOW_INSECURE: '1' }).insecure).toBe(true);
  });

  it.each([
    ['512MiB', 512 * 1024 ** 2],
    ['1GiB', 1024 ** 3],
    ['100MB', 100e6],
    ['1048576', 1024 ** 2],
  ])('reads --spool-max %s', (value, bytes) => {
    expect(serve(['--spool-max', value]).spoolMaxBytes).toBe(bytes);
  });

  it.each(['1KiB', '0.5MiB', 'lots', '1TB2', ''])('refuses --spool-max "%s"', (value) => {
    expect(() => serve(['--spool-max', value])).toThrow(/--spool-max must be a size of at least 1MiB/);
  });

  it('reads --store-memory and ONCEFLOW_STORE_MEMORY for the embedded store, 1 GiB by default', () => {
    expect(serve([]).storeMemoryBytes).toBe(1024 ** 3);
    expect(serve(['--store-memory', '256MiB']).storeMemoryBytes).toBe(256 * 1024 ** 2);
    expect(serve([], { ONCEFLOW_STORE_MEMORY: '2GiB' }).storeMemoryBytes).toBe(2 * 1024 ** 3);
    expect(() => serve(['--store-memory', '1KiB'])).toThrow(/--store-memory must be a size of at least 1MiB/);
  });

  it('refuses --store-memory with ClickHouse, whose memory its server configures', () => {
    expect(() => serve(['--store-memory', '256MiB', '--clickhouse', 'http://ch:8123'])).toThrow(
      /ClickHouse's is set in its server configuration/,
    );
  });

  it('treats an empty variable as unset', () => {
    expect(serve([], { ONCEFLOW_PORT: '' }).port).toBe(8080);
  });

  it('returns help and version', () => {
    expect(parseCommandLine(['--help'], {})).toMatchObject({ command: 'help', text: expect.stringContaining('--otlp-port') });
    expect(parseCommandLine(['serve', '-h'], {}).command).toBe('help');
    expect(parseCommandLine(['help'], {}).command).toBe('help');
    expect(parseCommandLine(['--version'], {}).command).toBe('version');
  });

  it.each([
    [['serve', '--port', 'http'], /--port must be a port number/],
    [['serve', '--port', '70000'], /--port must be a port number/],
    [['serve', '--port', '-1'], /--port/],
    [['serve', '--otlp-port', '8080'], /must differ/],
    [['serve', '--retention', '7'], /--retention must be a duration/],
    [['serve', '--quiet-period', '0'], /--quiet-period must be a duration/],
    [['serve', '--quiet-period', '30 seconds'], /--quiet-period must be a duration/],
    [['serve', '--storm-learning', 'soon'], /--storm-learning must be a duration/],
    [['serve', '--clickhouse', 'ch:8123'], /--clickhouse must be an http\(s\) URL/],
    [['serve', '--clickhouse', 'not a url'], /--clickhouse must be an http\(s\) URL/],
    [['serve', '--clickhouse', 'http://ch:8123', '--clickhouse-database', 'a-b'], /--clickhouse-database must be a ClickHouse name/],
    [['serve', '--clickhouse-database', 'flows'], /--clickhouse-database needs --clickhouse URL/],
    [['serve', '--clickhouse', 'http://ch:8123', '--clickhouse-cluster', 'two shards'], /--clickhouse-cluster must be a ClickHouse name/],
    [['serve', '--clickhouse-cluster', 'flows'], /--clickhouse-cluster needs --clickhouse URL/],
    [['serve', '--scenario', '../etc'], /--scenario must be a scenario name/],
    [['serve', '--log-level', 'loud'], /--log-level must be one of/],
    [['serve', '--nope'], /Unknown option '--nope'/],
    [['serve', '--port'], /argument missing|--port/],
    [['start'], /unknown command "start"/],
    [['serve', 'extra'], /unexpected argument "extra"/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv, {})).toThrow(UsageError);
    expect(() => parseCommandLine(argv, {})).toThrow(message);
  });

  it('names the variable when the environment is wrong', () => {
    expect(() => parseCommandLine(['serve'], { ONCEFLOW_OTLP_PORT: 'abc' })).toThrow(/ONCEFLOW_OTLP_PORT must be a port number/);
    expect(() => parseCommandLine(['serve'], { ONCEFLOW_DEMO: 'maybe' })).toThrow(/ONCEFLOW_DEMO must be 1\/true or 0\/false/);
    // A good flag wins over a bad variable: the variable is never read.
    expect(serve(['serve', '--otlp-port', '4319'], { ONCEFLOW_OTLP_PORT: 'abc' }).otlpPort).toBe(4319);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5h', 5_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text, '--x', { allowZero: false })).toBe(ms);
  });
});
