#!/usr/bin/env node
// Joins results.json files of `webpeft compare` runs with the same protocol on different methods (tools/merge-results.ts):
//   node scripts/merge-results.mjs OUT_DIR a/results.json b/results.json … [--methods full,frozen,…]
import { bundleTs, importBundle } from './run-ts.mjs';

const { main } = await importBundle(await bundleTs('tools/merge-results.ts', 'merge-results'));
try {
  await main(process.argv.slice(2));
} catch (e) {
  console.error(`merge-results: ${e.message}`);
  process.exit(1);
}
