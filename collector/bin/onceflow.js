#!/usr/bin/env node
// The `onceflow` command: runs the compiled CLI (build with `npm run build` first).
import('../dist/cli.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('onceflow: the collector is not built yet; run `npm run build` at the repository root.');
    process.exit(1);
  }
  throw error;
});
