/**
 * The compare worker bundle for tests: built from src/ the way scripts/build.mjs builds dist/compare-worker.mjs,
 * inside the repository (so its external packages resolve from node_modules), and pointed to by
 * WEBPEFT_COMPARE_WORKER for the duration of the describe block that calls this.
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll } from 'vitest';

export function useCompareWorkerBundle(tag: string): void {
  beforeAll(async () => {
    const outfile = join(import.meta.dirname, '../../node_modules/.cache/webpeft', `compare-worker-${tag}-${process.pid}.mjs`);
    await build({
      entryPoints: [join(import.meta.dirname, '../../src/train/compare-worker.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20',
      outfile, logLevel: 'warning', external: ['webgpu', '@huggingface/tokenizers'],
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    process.env.WEBPEFT_COMPARE_WORKER = outfile;
  });
  afterAll(() => { delete process.env.WEBPEFT_COMPARE_WORKER; });
}
