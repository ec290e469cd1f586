// Bundles one TypeScript entry of src/ for Node with esbuild (into node_modules/.cache/webpeft/) and imports it:
// how the maintenance scripts (derive-data, pretrain) run the project's TypeScript without a build step.
// The native WebGPU binding and the tokenizers package stay external.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where bundleTs writes the bundle called `name`. */
export const bundlePath = (name) => join(root, 'node_modules/.cache/webpeft', `${name}.mjs`);

/** Writes the bundle of `entry` (relative to the repository root) as `name`.mjs; returns its path. */
export async function bundleTs(entry, name) {
  const outfile = bundlePath(name);
  await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'warning',
    external: ['webgpu', '@huggingface/tokenizers'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return outfile;
}

/** Imports a bundle written by bundleTs (fresh each time). */
export const importBundle = (outfile) => import(`${pathToFileURL(outfile).href}?t=${Date.now()}`);
