/**
 * `poolerOnly` (BERT with a pooler): the last layer computed only at position 0, the row the pooler reads. In
 * evaluation the pooled vector and the logits are the full pass's bit for bit, in f32 and f64, with and without each
 * kind of PEFT hook (an input rewrite, a K/V rewrite, both); the gradients of every trainable tensor agree with the
 * full pass's (f64, dropout off: the only difference is which zeros are summed); heads without a pooler refuse it.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { backward } from '../src/autograd/tape.js';
import { tidy, type Tensor } from '../src/autograd/tensor.js';
import { parseBertConfig } from '../src/io/config.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { Rng } from '../src/kernels/rng.js';
import { Bert } from '../src/models/bert.js';
import { baseOf } from '../src/peft/base.js';
import { fullFineTuning } from '../src/peft/baselines.js';
import { bitFit } from '../src/peft/bitfit.js';
import type { PeftMethod } from '../src/peft/method.js';
import { pTuningV2 } from '../src/peft/p-tuning-v2.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { prefixTuning } from '../src/peft/prefix-tuning.js';
import { promptTuning } from '../src/peft/prompt-tuning.js';
import { loadBert } from '../src/train/model-dir.js';

type Make = (m: Bert) => (Promise<PeftMethod> | PeftMethod)[];
const build = (m: Bert, make: Make) => Promise.all(make(m));
const METHODS: [string, Make][] = [
  ['no adapter', () => []],
  ['prompt (input rewrite)', (m) => [promptTuning(baseOf(m), { numVirtualTokens: 3, init: { kind: 'vocab' }, seed: 1 })]],
  ['prefix (K/V rewrite)', (m) => [prefixTuning(baseOf(m), { numVirtualTokens: 2, projection: { hidden: 5 }, seed: 1 })]],
  ['P-tuning v2 + prompt (both)', (m) => [pTuningV2(baseOf(m), { numVirtualTokens: 2, seed: 1 }), promptTuning(baseOf(m), { numVirtualTokens: 2, init: { kind: 'random' }, seed: 2 })]],
];

const models: Partial<Record<'f32' | 'f64', Bert>> = {};
beforeAll(async () => {
  for (const dtype of ['f32', 'f64'] as const) {
    models[dtype] = (await loadBert('bert-tiny', { backend: cpu, seed: 1, dtype, head: 'sequence-classification', numLabels: 2 })).model;
  }
});
afterAll(() => { for (const m of Object.values(models)) m?.dispose(); });

function batch(B: number, T: number, V: number, seed: number): { ids: Tensor; mask: Tensor } {
  const rng = new Rng(seed);
  const ids = Int32Array.from({ length: B * T }, () => 5 + Math.floor(rng.uniform(0, 1) * (V - 5)));
  // row b keeps its first 1 … T tokens: padding at the end, as the collator makes it
  const mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) { const keep = 1 + Math.floor(rng.uniform(0, 1) * T); for (let t = 0; t < keep; t++) mask[b * T + t] = 1; }
  return { ids: tensor(ids, [B, T], { backend: cpu, dtype: 'i32' }), mask: tensor(mask, [B, T], { backend: cpu, dtype: 'f32' }) };
}

describe('poolerOnly', () => {
  for (const dtype of ['f32', 'f64'] as const) {
    it(`${dtype}, evaluation: pooled and logits equal the full pass's bit for bit; hidden is its row 0`, async () => {
      const model = models[dtype]!;
      for (const [name, make] of METHODS) {
        const peft = new PeftModel(model, await build(model, make));
        await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 12 }), fc.nat(), async (B, T, seed) => {
          const { ids, mask } = batch(B, T, model.config.vocabSize, seed);
          const full = peft.forward({ ids, attentionMask: mask });
          const one = peft.forward({ ids, attentionMask: mask, poolerOnly: true });
          const D = model.config.hiddenSize;
          expect(one.hidden.shape, name).toEqual([B, 1, D]);
          expect(Array.from(await one.pooled!.data()), name).toEqual(Array.from(await full.pooled!.data()));
          expect(Array.from(await one.logits!.data()), name).toEqual(Array.from(await full.logits!.data()));
          const h = await full.hidden.data();
          const S = full.hidden.shape[1];
          const first = Array.from({ length: B }, (_, b) => Array.from(h.subarray(b * S * D, b * S * D + D))).flat();
          expect(Array.from(await one.hidden.data()), name).toEqual(first);
          for (const t of [ids, mask, full.hidden, full.pooled!, full.logits!, one.hidden, one.pooled!, one.logits!]) t.dispose();
        }), { numRuns: 6 });
        peft.unload();
      }
    });
  }

  it('f64, training with dropout off: the loss is the same bits and every trainable gradient agrees (1e-12)', async () => {
    const config = parseBertConfig({ vocab_size: 23, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 12,
      max_position_embeddings: 40, num_labels: 3, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, 'tiny-bert');
    const makes: [string, Make][] = [['full', () => [fullFineTuning()]], ['bitfit', (m) => [bitFit(baseOf(m))]], ...METHODS.slice(1)];
    for (const [name, make] of makes) {
      const model = Bert.init(config, { seed: 3, dtype: 'f64', head: 'sequence-classification' });
      const rng = new Rng(4);
      for (const [n, t] of model.params) model.params.assign(n, Array.from({ length: t.size }, () => (/LayerNorm\.weight$/.test(n) ? 1 : 0) + 0.3 * rng.normal()));
      const peft = new PeftModel(model, await build(model, make));
      const trainable = peft.trainable();
      const { ids, mask } = batch(3, 7, config.vocabSize, 5);
      const labels = tensor(new Int32Array([0, 2, 1]), [3], { backend: cpu, dtype: 'i32' });
      const run = (poolerOnly: boolean) => {
        for (const p of trainable) { p.grad?.dispose(); p.grad = null; }
        const loss = tidy(() => {
          const l = peft.forward({ ids, attentionMask: mask, labels, train: true, seed: 7, poolerOnly }).loss!;
          backward(l);
          return l.dataSync()[0]!;
        });
        return { loss, grads: trainable.map((p) => Array.from(p.grad!.dataSync())) };
      };
      const full = run(false), one = run(true);
      expect(one.loss, name).toBe(full.loss);
      expect(full.grads.some((g) => g.some((x) => x !== 0)), name).toBe(true);
      one.grads.forEach((g, i) => g.forEach((x, j) => {
        const want = full.grads[i]![j]!;
        expect(Math.abs(x - want), `${name} tensor ${i} element ${j}`).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want)));
      }));
      model.dispose();
    }
  });

  it('is refused by heads without a pooler, in one line', async () => {
    const config = parseBertConfig({ vocab_size: 23, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 12,
      max_position_embeddings: 40 }, 'tiny-bert');
    for (const head of ['masked-lm', 'token-classification'] as const) {
      const model = Bert.init(config, { seed: 3, head });
      const ids = tensor(new Int32Array([5, 6, 7]), [1, 3], { backend: cpu, dtype: 'i32' });
      expect(() => model.forward({ ids, poolerOnly: true })).toThrow(new RegExp(`^bert: poolerOnly is for the heads with a pooler \\(base, sequence-classification\\), not ${head}$`));
      model.dispose();
    }
  });
});
