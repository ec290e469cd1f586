// Bundles the browser page's two entries with esbuild for the browser: the page (web/main.ts → web/dist/main.js)
// and the dedicated worker that trains (web/worker.ts → web/dist/worker.js).
// Node's WebGPU binding ('webgpu') and every Node builtin stay external, so nothing resolves them into the bundle;
// the build then fails if any of them is still imported (a `node:` import or 'webgpu' in the output, or a Node-only
// source file among the bundle's inputs): the browser path must not reach them at all.
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'web/dist');
const outfile = join(outdir, 'main.js');
const builtins = builtinModules.flatMap((m) => [m, `node:${m}`]);

export async function buildWeb({ quiet = false } = {}) {
  const t0 = performance.now();
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'web/main.ts'), join(root, 'web/worker.ts')],
    outdir,
    entryNames: '[name]',
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: 'linked',
    metafile: true,
    write: false, // written below, only once the bundle is known clean
    logLevel: quiet ? 'error' : 'warning',
    external: ['webgpu', 'node:*', ...builtins],
    // the page imports the package by name, as a user does: its browser-safe entry and the gradient-check harness
    alias: { webpeft: join(root, 'src/index.ts'), 'webpeft/gradcheck': join(root, 'src/autograd/gradcheck.ts') },
  });
  const problems = [];
  const importRe = /(?:\bimport\s*(?:[\w*{}\s,$]+\s*from\s*)?|\bimport\s*\(\s*|\brequire\s*\(\s*|\bexport\s*[\w*{}\s,$]+\s*from\s*)["'`](node:[^"'`]+|webgpu)["'`]/g;
  for (const f of result.outputFiles.filter((o) => o.path.endsWith('.js'))) {
    for (const m of f.text.matchAll(importRe)) {
      const line = f.text.slice(0, m.index).split('\n').length;
      problems.push(`${relative(root, f.path)}:${line} imports '${m[1]}'`);
    }
  }
  for (const [out, meta] of Object.entries(result.metafile.outputs)) {
    for (const imp of meta.imports) if (imp.external) problems.push(`${out} keeps an external import '${imp.path}' (${imp.kind})`);
  }
  for (const input of Object.keys(result.metafile.inputs)) {
    if (/^src\/(cli|io\/node\.ts|data\/load\.ts|train\/(adapter-dir|model-dir)\.ts)/.test(input) || input.includes('node_modules/webgpu/')) {
      problems.push(`Node-only module in the browser bundle: ${input}`);
    }
  }
  if (problems.length) {
    throw new Error(`browser bundle is not browser-clean:\n  ${problems.join('\n  ')}\n` +
      'Something on the import path of web/main.ts pulls a Node module; guard it behind a dynamic import reached only in Node.');
  }
  mkdirSync(dirname(outfile), { recursive: true });
  for (const f of result.outputFiles) writeFileSync(f.path, f.contents);
  const bytes = Object.entries(result.metafile.outputs).filter(([o]) => o.endsWith('.js')).reduce((n, [, m]) => n + m.bytes, 0);
  if (!quiet) {
    console.log(`web/dist/main.js + worker.js: ${(bytes / 1024).toFixed(0)} KiB from ${Object.keys(result.metafile.inputs).length} modules in ${((performance.now() - t0) / 1000).toFixed(2)} s; no node: or webgpu imports`);
  }
  return { outfile, bytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await buildWeb();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
