/**
 * Builds the dashboard into `dist/`, which the collector serves (with SPA fallback) on its UI
 * port. In development `vite` proxies `/api` to a collector on 127.0.0.1:8080.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  resolve: {
    alias: [
      {
        find: /^@onceflow\/instrumentation\/semconv$/,
        replacement: fileURLToPath(new URL('../instrumentation/src/semconv.ts', import.meta.url)),
      },
      // The collector's API contract, from source: zod schemas and types, no Node code.
      {
        find: /^@onceflow\/collector\/contract$/,
        replacement: fileURLToPath(new URL('../collector/src/contract/index.ts', import.meta.url)),
      },
    ],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
