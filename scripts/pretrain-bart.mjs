#!/usr/bin/env node
// Trains the embedded bart-tiny (assets/models/bart-tiny) by text infilling, seeded and reproducibly:
//
//   node scripts/pretrain-bart.mjs                      default settings (see assets/models/bart-tiny/pretrain-report.json)
//   node scripts/pretrain-bart.mjs --bench 5            time 5 steps, write nothing
//
// The logic lives in tools/pretrain-bart.ts; this script bundles it with esbuild and runs its `main`.
import { bundleTs, importBundle } from './run-ts.mjs';

const { main } = await importBundle(await bundleTs('tools/pretrain-bart.ts', 'pretrain-bart'));
try {
  await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`pretrain-bart: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
