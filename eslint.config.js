/**
 * One lint config for the monorepo (`npm run lint`): ESLint's and typescript-eslint's
 * recommended rules everywhere, the React hooks rules in the dashboard, and the import floors of
 * docs/architecture.md, so a layer cannot quietly start importing one above it. Formatting is
 * Prettier's job (`npm run format`), so every stylistic rule is off (eslint-config-prettier).
 */
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const TESTS = ['**/*.test.{ts,tsx}', '**/test/**', '**/bench/**', 'test-support/**'];

/** `no-restricted-imports` patterns: a floor may not import any module of the floors above it. */
const above = (...paths) => ({ group: paths, message: 'imports upward across a floor; see docs/architecture.md' });

/** The dashboard reaches the collector through its published contract, never its source files. */
const NO_COLLECTOR_SOURCE = {
  regex: '^(\\.\\./)+collector/',
  message: 'the dashboard uses the collector only through @onceflow/collector/contract',
};

export default defineConfig(
  globalIgnores(['**/dist/**', '**/node_modules/**', 'coverage/**', 'test-artifacts/**', 'bench-results/**']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_name` marks a value deliberately left unused (destructured away, a required parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: TESTS,
    // Tests and benches read untyped JSON bodies and build malformed input on purpose.
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },

  // ---- the dashboard: a browser app --------------------------------------------------
  {
    files: ['dashboard/src/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat['recommended-latest']],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // A local `window` hides the browser global of the same name: call it `timeWindow`.
      'id-denylist': ['error', 'window'],
    },
  },

  // ---- import floors (product code; tests may reach any floor) -----------------------
  {
    files: ['collector/src/contract/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(node:|fastify|@fastify/|@duckdb/|@clickhouse/|pino)',
              message: 'the contract is browser-safe: zod and semconv only',
            },
            { regex: '^\\.\\./', message: 'the contract is the bottom floor: it imports nothing else of the collector' },
          ],
        },
      ],
    },
  },
  {
    files: ['collector/src/model/**/*.ts'],
    ignores: TESTS,
    rules: { 'no-restricted-imports': ['error', { patterns: [above('../*', '!../contract', '!../model')] }] },
  },
  {
    files: ['collector/src/otlp/**/*.ts'],
    ignores: TESTS,
    rules: { 'no-restricted-imports': ['error', { patterns: [above('../*', '!../contract', '!../model')] }] },
  },
  {
    files: ['collector/src/store/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [above('**/analysis/*', '**/indexer/*', '**/live/*', '**/ingest/*', '**/api/*', '**/app.js', '**/cli.js')] },
      ],
    },
  },
  {
    files: ['collector/src/analysis/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [above('../indexer/*', '../live/*', '../ingest/*', '../api/*', '../app.js', '../cli.js')] },
      ],
    },
  },
  {
    files: ['collector/src/{indexer,live,ingest}/**/*.ts'],
    ignores: TESTS,
    rules: { 'no-restricted-imports': ['error', { patterns: [above('../api/*', '../app.js', '../cli.js')] }] },
  },
  {
    files: ['collector/src/api/**/*.ts'],
    ignores: TESTS,
    rules: { 'no-restricted-imports': ['error', { patterns: [above('../app.js', '../cli.js')] }] },
  },
  {
    files: ['dashboard/src/**/*.{ts,tsx}'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@onceflow/collector', message: 'the dashboard uses the collector only through @onceflow/collector/contract' }],
          patterns: [NO_COLLECTOR_SOURCE],
        },
      ],
    },
  },
  {
    files: ['dashboard/src/model/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['react', 'react-dom', '@tanstack/react-query'].map((name) => ({
            name,
            message: 'dashboard/src/model is plain TypeScript: no React',
          })),
          patterns: [above('../api/*', '../hooks/*', '../components/*', '../views/*'), NO_COLLECTOR_SOURCE],
        },
      ],
    },
  },
  {
    files: ['dashboard/src/{api,hooks}/**/*.{ts,tsx}'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': ['error', { patterns: [above('../components/*', '../views/*'), NO_COLLECTOR_SOURCE] }],
    },
  },
  {
    files: ['dashboard/src/components/**/*.{ts,tsx}'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': ['error', { patterns: [above('../views/*'), NO_COLLECTOR_SOURCE] }],
    },
  },
  prettier,
);
