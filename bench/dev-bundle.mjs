// The dev harnesses' launcher (bench/dev-*.mjs): bundles bench/<name>.ts with esbuild into
// node_modules/.cache/webpeft/<name>.mjs (or $DEV_STEP_OUT) and runs its `main(argv)`, unless $DEV_STEP_BUILD_ONLY is
// set (then it only writes the bundle: two builds of webpeft can be bundled side by side for bench/dev-ab.mjs).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function bundleAndRun(name) {
  const outfile = process.env.DEV_STEP_OUT ?? join(root, `node_modules/.cache/webpeft/${name}.mjs`);
  await build({
    entryPoints: [join(root, `bench/${name}.ts`)], bundle: true, platform: 'node', format: 'esm', target: 'node20',
    outfile, logLevel: 'warning', external: ['webgpu', '@huggingface/tokenizers'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  if (process.env.DEV_STEP_BUILD_ONLY) return;
  const { main } = await import(`${pathToFileURL(outfile).href}?t=${Date.now()}`);
  await main(process.argv.slice(2));
}
