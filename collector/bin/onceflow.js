#!/usr/bin/env -S node --max-semi-space-size=64
// The `onceflow` command: runs the compiled CLI (build with `npm run build` first).
// Run it as an executable (not `node onceflow.js`) so the flag above applies: spans of a batch
// live until its commit, and in V8's default 16 MB semi-spaces every scavenge copied them again
// (the ingest benchmark spent half as long in scavenges with 64 MB). It can't be set at run time.
import('../dist/cli.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('onceflow: the collector is not built yet; run `npm run build` at the repository root.');
    process.exit(1);
  }
  throw error;
});
