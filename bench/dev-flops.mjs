// `node bench/dev-flops.mjs [methods,…]`: bundles bench/dev-flops.ts with esbuild and runs it (matmul work per step, not a bench row).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = process.env.DEV_STEP_OUT ?? join(root, 'node_modules/.cache/webpeft/dev-flops.mjs');
await build({
  entryPoints: [join(root, 'bench/dev-flops.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20',
  outfile, logLevel: 'warning', external: ['webgpu', '@huggingface/tokenizers'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
if (!process.env.DEV_STEP_BUILD_ONLY) {
  const { main } = await import(`${pathToFileURL(outfile).href}?t=${Date.now()}`);
  await main(process.argv.slice(2));
}
