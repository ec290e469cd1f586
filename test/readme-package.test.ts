/**
 * The README's "Use it from TypeScript" examples run as written against the packed package, not src/: build, `npm
 * pack`, the tarball extracted into a fresh project's node_modules (its dependencies linked from this checkout's, so
 * no network), each ```ts block type-checked with `tsc --strict` against the emitted declarations and run as an ES
 * module. So the README, the package's `exports` and its .d.ts cannot drift apart.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'webpeft-readme-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The ```ts blocks of one README section. */
export function codeBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section '## ${heading}'`);
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('README: Use it from TypeScript', () => {
  const blocks = codeBlocks(readFileSync(join(root, 'README.md'), 'utf8'), 'Use it from TypeScript');
  const project = join(work, 'project');

  it('has a GPT-2 and a BERT example', () => {
    expect(blocks.length).toBe(2);
    expect(blocks[0]).toContain("loadGpt2('gpt2-tiny'");
    expect(blocks[1]).toContain("method: 'ptuning-v2'");
  });

  it('packs, installs and type-checks with tsc --strict against the emitted declarations', () => {
    run(process.execPath, [join(root, 'scripts/build.mjs')], root);
    const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--offline', '--json', '--pack-destination', work], root)) as { filename: string }[];
    const modules = join(project, 'node_modules');
    mkdirSync(join(modules, 'webpeft'), { recursive: true });
    run('tar', ['-xzf', join(work, packed[0].filename), '-C', join(modules, 'webpeft'), '--strip-components=1'], work);
    // the package's dependencies, its optional peer fast-check (the gradient-check harness's case generator), and the
    // types a TypeScript user has, linked from this checkout: no network
    for (const dep of ['webgpu', '@huggingface/tokenizers', '@webgpu/types', 'fast-check', '@types/node']) {
      mkdirSync(dirname(join(modules, dep)), { recursive: true });
      symlinkSync(join(root, 'node_modules', dep), join(modules, dep), 'dir');
    }
    expect(existsSync(join(modules, 'webpeft/dist/lib/index.d.ts'))).toBe(true);
    expect(readdirSync(join(modules, 'webpeft'))).not.toContain('node_modules');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme-examples', type: 'module', private: true }));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        lib: ['ES2022', 'DOM'], types: ['node'], skipLibCheck: false },
      include: ['*.ts'],
    }));
    blocks.forEach((code, i) => writeFileSync(join(project, `example-${i + 1}.ts`), code));
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    let out = '';
    try { out = run(process.execPath, [tsc, '-p', project], project); } catch (e) { out = `${(e as { stdout?: string }).stdout ?? ''}${String(e)}`; }
    expect(out).toBe('');
  }, 180_000);

  it('runs the GPT-2 example: the loss falls, the HF adapter is written, the reloaded adapter generates', async () => {
    const out = await runExample(project, 1);
    expect(out).toMatch(/^trainable params: 512 \|\| all params: [\d,]+ \|\| trainable%: [\d.]+$/m);
    const [first, last] = /loss ([\d.]+) → ([\d.]+)/.exec(out)!.slice(1).map(Number);
    expect(last).toBeLessThan(first);
    const config = JSON.parse(readFileSync(join(project, 'prompt-adapter/adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ peft_type: 'PROMPT_TUNING', num_virtual_tokens: 8, token_dim: 64, task_type: 'CAUSAL_LM' });
    expect(existsSync(join(project, 'prompt-adapter/adapter_model.safetensors'))).toBe(true);
    expect(out.trim().split('\n').length).toBe(3);
  }, 180_000);

  it('runs the BERT P-tuning v2 example: the loss falls and every test mail gets a prediction', async () => {
    const out = await runExample(project, 2);
    const [first, last] = /loss ([\d.]+) → ([\d.]+)/.exec(out)!.slice(1).map(Number);
    expect(last).toBeLessThan(first);
    expect(out).toMatch(/predicted [01]{8} true [01]{8}/);
  }, 180_000);
});

/** Bundles example-N.ts with the package left external (resolved from the project's node_modules) and runs it. */
async function runExample(project: string, n: number): Promise<string> {
  const outfile = join(project, `example-${n}.mjs`);
  await build({ entryPoints: [join(project, `example-${n}.ts`)], outfile, bundle: true, packages: 'external', platform: 'node',
    format: 'esm', target: 'node20', logLevel: 'error' });
  return run(process.execPath, [outfile], project);
}
