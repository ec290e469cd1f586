// Bundles the CLI and the library with esbuild (the native WebGPU binding stays external).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = {
  bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: true, logLevel: 'warning',
  external: ['webgpu', '@huggingface/tokenizers'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};
await build({ ...common, entryPoints: [join(root, 'src/cli/entry.ts')], outfile: join(root, 'dist/cli.mjs') });
await build({ ...common, entryPoints: [join(root, 'src/index.ts')], outfile: join(root, 'dist/index.js') });
