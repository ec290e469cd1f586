/**
 * P-tuning templates reachable from the task layer and the CLI: the paper's notation ("[P3] x [P3] [MASK]") parses
 * as the brace one, the spam task renders it around every mail (virtual slots, [CLS]/[SEP], the [MASK] anchor), and
 * a P-tuning model trains through it; `webpeft train --template` checks the slots against the method.
 */
import { describe, expect, it } from 'vitest';
import { cpu } from '../src/kernels/cpu/index.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { createMethod } from '../src/peft/registry.js';
import { parseTemplate, virtualCount } from '../src/peft/template.js';
import { loadBert } from '../src/train/model-dir.js';
import { makeTask } from '../src/train/tasks.js';
import { fit } from '../src/train/fit.js';
import { main } from '../src/cli/main.js';
import { tinyBertDir } from './helpers/model-dirs.js';

describe('templates from the task layer and the CLI', () => {
  it("parses the paper's notation as the brace notation", () => {
    expect(parseTemplate('[P3] x [P3] [MASK]')).toEqual(parseTemplate('{p:3} {x} {p:3} [MASK]'));
    expect(virtualCount(parseTemplate('[P2] x It was [P1] [MASK] .'))).toBe(3);
  });

  it('the spam task renders the template and P-tuning trains through its slots', async () => {
    const { model, tokenizer } = await loadBert(await tinyBertDir(), { backend: cpu, head: 'sequence-classification', numLabels: 2, seed: 1 });
    const task = makeTask('spam', tokenizer, { batchSize: 4, maxLength: 24, seed: 1, template: '[P3] x [P3] [MASK]' });
    const batch = task.batch(0) as ReturnType<typeof task.batch> & { layout?: { kind: string; slots: Int32Array } };
    const [B, T] = batch.shape;
    expect(batch.layout?.kind).toBe('slots');
    const cls = tokenizer.specialTokenId('cls')!;
    const mask = tokenizer.specialTokenId('mask')!;
    for (let b = 0; b < B; b++) {
      const row = [...batch.layout!.slots.slice(b * T, (b + 1) * T)];
      expect(row.slice(1, 4)).toEqual([0, 1, 2]); // after [CLS], the first three virtual tokens
      expect(row.filter((k) => k >= 0)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(batch.ids[b * T]).toBe(cls);
      expect([...batch.ids.slice(b * T, (b + 1) * T)]).toContain(mask);
    }
    const peft = new PeftModel(model, [await createMethod('ptuning', baseOf(model), { numVirtualTokens: 6, encoder: 'mlp', seed: 1 })]);
    const { losses } = await fit(peft, { batch, steps: 15, lr: 0.03, warmup: 0 });
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    model.dispose();
  });

  it('webpeft train --template refuses a method without an input prompt, naming the flag', async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (msg: string) => { errors.push(msg); };
    try {
      const code = await main(['train', '--task', 'spam', '--method', 'ptuning-v2', '--template', '[P3] x [P3] [MASK]', '--model', await tinyBertDir(),
        '--out', '/tmp/webpeft-template-never-written', '--steps', '1']);
      expect(code).toBe(1);
    } finally {
      console.error = original;
    }
    expect(errors.join('\n')).toMatch(/--template: 6 virtual slots, but 'ptuning-v2' has no input prompt/);
  });
});
