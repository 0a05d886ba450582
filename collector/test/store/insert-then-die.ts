/**
 * Child process of the durability test: inserts a known set of spans into a file-backed
 * store, says so on stdout, then dies with SIGKILL (no close, no checkpoint). What the parent
 * then finds on disk is exactly what a crash right after a 200 would leave.
 *
 *   node --import tsx insert-then-die.ts <dataDir> <spanCount>
 */
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { syntheticSpans } from './synthetic-spans.js';

const [dataDir, count] = process.argv.slice(2);
const store = new DuckDbStore({ dataDir });
await store.init();
const spans = syntheticSpans(Number(count));
const half = Math.floor(spans.length / 2);
await Promise.all([store.insertSpans(spans.slice(0, half)), store.insertSpans(spans.slice(half))]);
process.stdout.write('committed\n', () => process.kill(process.pid, 'SIGKILL'));
