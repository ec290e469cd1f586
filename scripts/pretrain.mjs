#!/usr/bin/env node
// Trains the embedded tiny models shipped in assets/models (gpt2-tiny, bert-tiny), seeded and reproducibly:
//
//   npm run pretrain                                   both models side by side (two processes), default settings
//   npm run pretrain -- --model gpt2 --steps 450 --backend cpu|webgpu --seed 0 --out assets/models
//   npm run pretrain -- --sequential                   both models, one after the other, in one process
//   npm run pretrain -- --bench 5 --backend webgpu     time 5 steps per model, write nothing
//
// The logic lives in tools/pretrain.ts; this script bundles it with esbuild (the native WebGPU binding stays
// external) and runs its `main`. See assets/models/README.md for how the shipped models were made.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundlePath, bundleTs, importBundle } from './run-ts.mjs';

const args = process.argv.slice(2);
const bundle = bundlePath('pretrain');
if (!process.env.WEBPEFT_PRETRAIN_CHILD) await bundleTs('tools/pretrain.ts', 'pretrain');

const modelAt = args.indexOf('--model');
const model = modelAt >= 0 ? args[modelAt + 1] : 'both';
const parallel = model === 'both' && !args.includes('--write-sequences') && !args.includes('--sequential') && !args.includes('--bench') && !args.includes('--help') && !args.includes('-h');

if (parallel) {
  // one process per model: the engine is single-threaded, so two cores train both in the time of one
  const rest = modelAt >= 0 ? args.filter((_, i) => i !== modelAt && i !== modelAt + 1) : args;
  const command = args.length ? `npm run pretrain -- ${args.join(' ')}` : 'npm run pretrain';
  const runs = ['gpt2', 'bert'].map((m) => new Promise((resolve) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--model', m, ...rest], {
      stdio: 'inherit',
      env: { ...process.env, WEBPEFT_PRETRAIN_CHILD: '1', WEBPEFT_PRETRAIN_COMMAND: command },
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  }));
  const codes = await Promise.all(runs);
  process.exit(codes.some((c) => c !== 0) ? 1 : 0);
}

const { main } = await importBundle(bundle);
try {
  await main(args.filter((a) => a !== '--sequential'));
} catch (e) {
  process.stderr.write(`pretrain: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
