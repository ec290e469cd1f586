/**
 * Mixed-adapter batches from the CLI: `webpeft generate --adapter A --adapter B` runs one batch, row i under
 * adapter i, and each row equals the run under that adapter alone (the mixed-batch invariant, end to end).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { getPeftModel } from '../src/peft/get-peft-model.js';
import { loadGpt2, savePretrained } from '../src/node.js';

const work = mkdtempSync(join(tmpdir(), 'webpeft-mixed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function captured(argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (msg: string) => { lines.push(String(msg)); };
  try { return { code: await main(argv), lines }; } finally { console.log = original; }
}

describe('webpeft generate with several adapters', () => {
  it('one mixed batch, each row as under its adapter alone', async () => {
    const dirs: string[] = [];
    for (const seed of [1, 2]) {
      const { model } = await loadGpt2('gpt2-tiny', { backend: cpu });
      // random prompts far from zero, so the two adapters steer generation differently
      const peft = await getPeftModel(model, { method: 'prompt', numVirtualTokens: 4, seed, init: { kind: 'random', range: 2 } });
      const dir = join(work, `adapter-${seed}`);
      await savePretrained(peft, dir, { taskType: 'CAUSAL_LM' });
      dirs.push(dir);
      model.dispose();
    }
    const common = ['generate', '--prompt', 'the sea', '--max-new-tokens', '6'];
    const mixed = await captured([...common, '--adapter', dirs[0], '--adapter', dirs[1]]);
    expect(mixed.code).toBe(0);
    expect(mixed.lines.length).toBe(2);
    for (const [i, dir] of dirs.entries()) {
      const alone = await captured([...common, '--adapter', dir]);
      expect(mixed.lines[i]).toBe(`[${dir}] ${alone.lines[0]}`);
    }
    expect(mixed.lines[0].slice(dirs[0].length + 3)).not.toBe(mixed.lines[1].slice(dirs[1].length + 3));
  });
});
