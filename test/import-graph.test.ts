/**
 * Two build rules `npm test` enforces, each shown to fail on a planted violation:
 *   - no new runtime import cycle in src/ (tools/import-graph.ts);
 *   - the browser-safe entry (`webpeft`, src/index.ts) type-checks with only @webgpu/types — no `node:` module, no
 *     `process` (tsconfig.browser.json; `npm test` runs it on the tree itself too).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cycles, importGraph, runtimeImports } from '../tools/import-graph.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// inside the checkout, so the copies resolve @webgpu/types and the dependencies from its node_modules
const scratch = join(root, 'node_modules/.cache/webpeft', `build-rules-${process.pid}`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * The one runtime cycle src/ has today: autograd/functions.ts builds ops from the op table, and the ops' backward
 * rules call functions.ts — safe only because every such use sits inside a closure that runs after loading.
 * A cycle must stay inside this set; any other fails the test.
 */
const inKnownCycle = (m: string) => m === 'autograd/functions.ts' || m.startsWith('autograd/ops/');
const newCycles = (found: string[][]) => found.filter((c) => !c.every(inKnownCycle));

describe('import cycles', () => {
  it('reads only runtime imports: type-only imports and dynamic import() do not count', () => {
    const source = [
      "import { a } from './a.js';", "import type { B } from './b.js';", "import { type C, type D } from './c.js';",
      "import { type E, f } from './e.js';", "export * from './g.js';", "export type { H } from './h.js';", "import './side.js';",
      "const lazy = () => import('./lazy.js');",
    ].join('\n');
    expect(runtimeImports(source)).toEqual(['./a.js', './e.js', './g.js', './side.js']);
  });

  it('finds a planted cycle in a synthetic graph, and none in a tree', () => {
    const tree = new Map([['a.ts', ['b.ts', 'c.ts']], ['b.ts', ['c.ts']], ['c.ts', []]]);
    expect(cycles(tree)).toEqual([]);
    const planted = new Map([...tree, ['c.ts', ['a.ts']], ['d.ts', ['d.ts']]]);
    expect(cycles(planted)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['d.ts']]);
  });

  it('src/ never imports tools/ or scripts/ (library code stands alone)', () => {
    const outside = [...importGraph(join(root, 'src'))].flatMap(([file, edges]) => edges.filter((e) => e.startsWith('..')).map((e) => `${file} → ${e}`));
    expect(outside).toEqual([]);
  });

  it('src/ has no runtime cycle beyond the known one', () => {
    expect(newCycles(cycles(importGraph(join(root, 'src'))))).toEqual([]);
  });

  it('fails on a cycle planted in a copy of src/ (models → peft → models)', () => {
    const copy = join(scratch, 'cycle-src');
    cpSync(join(root, 'src'), copy, { recursive: true });
    appendFileSync(join(copy, 'models/params.ts'), "\nimport '../peft/registry.js';\n");
    const found = newCycles(cycles(importGraph(copy)));
    expect(found.length).toBe(1);
    expect(found[0]).toContain('models/params.ts');
    expect(found[0]).toContain('peft/registry.ts');
  });
});

describe('the browser-safe entry type-checks without Node', () => {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const check = (dir: string): string => {
    try { execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.browser.json')], { encoding: 'utf8', stdio: 'pipe' }); return ''; }
    catch (e) { return String((e as { stdout?: string }).stdout); }
  };
  const copyTree = (name: string): string => {
    const dir = join(scratch, name);
    mkdirSync(dir, { recursive: true });
    cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true });
    for (const f of ['tsconfig.json', 'tsconfig.browser.json']) cpSync(join(root, f), join(dir, f));
    return dir;
  };

  it('passes on the tree as it is', () => {
    expect(check(copyTree('browser-clean'))).toBe('');
  }, 60_000);

  it('fails on a planted `process` and a planted node: import in a browser-safe module', () => {
    const dir = copyTree('browser-planted');
    appendFileSync(join(dir, 'src/peft/spec.ts'), '\nexport const planted = process.env.HOME;\n');
    writeFileSync(join(dir, 'src/peft/planted-fs.ts'), "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n");
    appendFileSync(join(dir, 'src/peft/index.ts'), "export * from './planted-fs.js';\n");
    const out = check(dir);
    expect(out).toMatch(/src\/peft\/spec\.ts.*Cannot find name 'process'/);
    expect(out).toMatch(/src\/peft\/planted-fs\.ts.*Cannot find name 'node:fs'/);
  }, 60_000);
});
