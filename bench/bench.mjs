// `npm run bench [-- --filter X] [--json]`: bundles bench/main.ts with esbuild (every package stays external, so
// tfjs and Dawn load from node_modules as usual) and runs it. Never part of `npm test`.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'node_modules/.cache/webpeft/bench.mjs');
await build({
  entryPoints: [join(root, 'bench/main.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20',
  outfile, logLevel: 'warning', packages: 'external',
});
const { main } = await import(`${pathToFileURL(outfile).href}?t=${Date.now()}`);
process.exitCode = await main(process.argv.slice(2));
