#!/usr/bin/env node
// Linear probes of a frozen BERT on the spam task (what a frozen body offers before any PEFT method touches it):
//   node scripts/probe.mjs [--model bert-tiny|DIR] [--max-length 48] [--untrained] [--bag]
// The logic is tools/probe.ts, bundled with esbuild like the other maintenance scripts.
import { bundleTs, importBundle } from './run-ts.mjs';

const { main } = await importBundle(await bundleTs('tools/probe.ts', 'probe'));
await main(process.argv.slice(2));
