import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// One test run for the whole monorepo. Workspace packages resolve to their sources so tests
// never depend on a stale build; `npm test` still builds first because the dashboard
// end-to-end tests load the production bundle the collector serves.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@onceflow\/instrumentation\/semconv$/, replacement: here('./instrumentation/src/semconv.ts') },
      { find: /^@onceflow\/instrumentation$/, replacement: here('./instrumentation/src/index.ts') },
      { find: /^@onceflow\/collector\/contract$/, replacement: here('./collector/src/contract/index.ts') },
      { find: /^@onceflow\/collector$/, replacement: here('./collector/src/index.ts') },
      { find: /^@onceflow\/test-support$/, replacement: here('./test-support/index.ts') },
    ],
  },
  test: {
    include: ['{instrumentation,collector,dashboard,samples}/{src,test}/**/*.test.{ts,tsx}'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
