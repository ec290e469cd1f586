// Builds the package: the library as ES modules with type declarations (tsc -p tsconfig.build.json → dist/lib, the
// `webpeft` and `webpeft/node` entries), and the CLI as one esbuild bundle (the native WebGPU binding stays external).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) { console.error('build: tsc failed'); process.exit(1); }
await build({
  bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: true, logLevel: 'warning',
  external: ['webgpu', '@huggingface/tokenizers'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  entryPoints: [join(root, 'src/cli/entry.ts')], outfile: join(root, 'dist/cli.mjs'),
});
// compare's run workers (src/train/compare-workers.ts finds this file beside dist/cli.mjs)
await build({
  bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: true, logLevel: 'warning',
  external: ['webgpu', '@huggingface/tokenizers'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  entryPoints: [join(root, 'src/train/compare-worker.ts')], outfile: join(root, 'dist/compare-worker.mjs'),
});
