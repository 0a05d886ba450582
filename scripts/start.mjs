#!/usr/bin/env node
// `npm start` / `npm run demo`: build whatever is missing or older than its sources, then run
// `onceflow serve --demo` (collector + dashboard + the sample shop on embedded defaults).
// Extra arguments pass through: `npm run demo -- --scenario duplicate-storm`.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// In dependency order: what each package builds from, and the file its build produces.
const packages = [
  { name: '@onceflow/instrumentation', dir: 'instrumentation', sources: ['src'], output: 'dist/index.js' },
  { name: '@onceflow/collector', dir: 'collector', sources: ['src'], output: 'dist/cli.js' },
  { name: '@onceflow/dashboard', dir: 'dashboard', sources: ['src', 'index.html'], output: 'dist/index.html' },
  { name: '@onceflow/samples', dir: 'samples', sources: ['src'], output: 'dist/demo.js' },
];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, entry) => Math.max(newest, newestMtime(join(path, entry))), stat.mtimeMs);
}

function isStale({ dir, sources, output }) {
  const built = join(root, dir, output);
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  return sources.some((source) => newestMtime(join(root, dir, source)) > builtAt);
}

const stale = packages.filter(isStale);
// A package that depends on a rebuilt one is rebuilt too (types may have changed).
const firstStale = packages.findIndex((pkg) => stale.includes(pkg));
const toBuild = firstStale === -1 ? [] : packages.slice(firstStale);
for (const pkg of toBuild) {
  console.log(`onceflow: building ${pkg.name} ...`);
  const result = spawnSync('npm', ['run', 'build', '-w', pkg.name], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const args = ['serve', '--demo', ...process.argv.slice(2)];
// Executed directly so the Node flags of its shebang apply.
const child = spawn(join(root, 'collector/bin/onceflow.js'), args, { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
