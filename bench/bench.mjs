// `npm run bench [-- --filter X] [--json]`: bundles bench/main.ts with esbuild and runs it. Never part of `npm test`.
// tfjs is bundled from its ES modules ("module" first): tfjs-core's Node build (dist/tf-core.node.js) has no
// gradients registered, and register_all_gradients must join the same module graph as the core it registers into.
// Dawn's native binding and the tokenizers package stay external.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'node_modules/.cache/webpeft/bench.mjs');
await build({
  entryPoints: [join(root, 'bench/main.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20',
  outfile, logLevel: 'warning', mainFields: ['module', 'main'],
  external: ['webgpu', '@huggingface/tokenizers'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
const { main } = await import(`${pathToFileURL(outfile).href}?t=${Date.now()}`);
process.exitCode = await main(process.argv.slice(2));
