/**
 * Every method trains end to end on real text (SpamAssassin mail, shipped in assets/data) on both backends:
 * the training loss falls. Tiny random BERT so the suite stays fast; the real comparison is `webpeft compare`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/autograd/backend.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { METHOD_NAMES } from '../src/peft/counts.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { buildMethod, DEFAULT_LR } from '../src/train/methods.js';
import { loadBert } from '../src/train/model-dir.js';
import { makeTask } from '../src/train/tasks.js';
import { trainLoop } from '../src/train/trainer.js';
import { acquireGpu } from './helpers/gpu.js';
import { tinyBertDir } from './helpers/model-dirs.js';

const gpu = await acquireGpu();
afterAll(() => gpu?.destroy());
const dir = await tinyBertDir();
const backends: Backend[] = gpu ? [cpu, gpu] : [cpu];

describe('each method trains on real mail (loss falls)', () => {
  for (const backend of backends) {
    for (const method of METHOD_NAMES) {
      it(`${method} on ${backend.name}`, async () => {
        const { model, tokenizer } = await loadBert(dir, { backend, head: 'sequence-classification', numLabels: 2, seed: 1 });
        const peft = new PeftModel(model, [await buildMethod(method, baseOf(model), { virtualTokens: 4, hidden: 16, encoder: 'lstm', seed: 1 })]);
        const task = makeTask('spam', tokenizer, { batchSize: 8, maxLength: 32, seed: 1 });
        // one batch, repeated: the loss on it must fall for every method (a bias-only or prompt-only model can fit it)
        const batch = task.batch(0);
        const r = await trainLoop({
          trainable: peft.trainable(), batch: () => batch, loss: (b, s) => task.loss(peft, b, s),
          config: { steps: 25, lr: 3 * DEFAULT_LR[method], warmup: 0 },
        });
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        console.log(`${method} on ${backend.name}: loss ${mean(r.losses.slice(0, 3)).toFixed(4)} → ${mean(r.losses.slice(-3)).toFixed(4)}`);
        expect(mean(r.losses.slice(-3))).toBeLessThan(0.9 * mean(r.losses.slice(0, 3)));
        r.optimizer.dispose();
        model.dispose();
      });
    }
  }
});
