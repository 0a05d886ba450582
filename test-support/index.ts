/**
 * Shared helpers for tests that need a real server (ClickHouse, RabbitMQ, PostgreSQL, Redis, Chromium).
 *
 * Locally, a test whose server is absent is skipped and says why. In CI (`CI=true`) every
 * integration test must run, so an absent server fails the run instead of passing silently.
 *
 *   const clickhouse = await requireServer('ClickHouse', () => probeHttp(`${CLICKHOUSE_URL}/ping`));
 *   describe.skipIf(!clickhouse)('ClickHouse store', () => { ... });
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';

export const CLICKHOUSE_URL = process.env.ONCEFLOW_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
export const AMQP_URL = process.env.ONCEFLOW_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const DATABASE_URL = process.env.ONCEFLOW_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.ONCEFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const CHROMIUM_PATH = process.env.ONCEFLOW_TEST_CHROMIUM ?? '/usr/bin/chromium';

export const inCI = process.env.CI === 'true';

/** Resolves true when the probe succeeds; otherwise skips (locally) or throws (in CI). */
export async function requireServer(name: string, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (error) {
    const reason = `${name} is not reachable: ${(error as Error).message}`;
    if (inCI) throw new Error(`${reason}. CI=true, so integration tests may not skip.`, { cause: error });
    console.warn(`[skip] ${reason}; its integration tests are skipped.`);
    return false;
  }
}

export function probeHttp(url: string, timeoutMs = 2000): Promise<void> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then((res) => {
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  });
}

export function probeTcp(url: string, timeoutMs = 2000): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`${hostname}:${port} timed out`));
    });
    socket.once('error', (error) => reject(error));
  });
}

export async function probeFile(path: string): Promise<void> {
  if (!existsSync(path)) throw new Error(`${path} does not exist`);
}

export const requireClickHouse = () => requireServer('ClickHouse', () => probeHttp(`${CLICKHOUSE_URL}/ping`));
export const requireRabbitMQ = () => requireServer('RabbitMQ', () => probeTcp(AMQP_URL));
export const requirePostgres = () => requireServer('PostgreSQL', () => probeTcp(DATABASE_URL));
export const requireRedis = () => requireServer('Redis', () => probeTcp(REDIS_URL));
export const requireChromium = () => requireServer('Chromium', () => probeFile(CHROMIUM_PATH));
