/**
 * The frozen body's evaluation cache (task-build.ts: PooledCache, frozenBodyCache; Bert.classify). compare's Frozen
 * runs score validation every few steps, and only the classifier changes between those scores, so each batch's
 * pooled vectors are computed once: the head alone on them gives the forward's logits bit for bit (f32 and f64),
 * evaluations with the cache give the same metrics as without after the head has changed, a second cached evaluation
 * runs no encoder kernel, and no method that trains or rewrites anything below the head gets a cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { noGrad } from '../src/autograd/op.js';
import { tidy } from '../src/autograd/tensor.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { Rng } from '../src/kernels/rng.js';
import type { Bert } from '../src/models/bert.js';
import { assignValues } from '../src/models/params.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { buildMethod } from '../src/peft/registry.js';
import { loadBert } from '../src/train/model-dir.js';
import { frozenBodyCache, makeTask } from '../src/train/tasks.js';
import type { TextTokenizer } from '../src/io/tokenizer.js';

let model: Bert;
let tokenizer: TextTokenizer;
beforeAll(async () => {
  const loaded = await loadBert('bert-tiny', { backend: cpu, seed: 3, head: 'sequence-classification', numLabels: 2 });
  model = loaded.model;
  tokenizer = loaded.tokenizer;
});
afterAll(() => model.dispose());

const launches = (name: string) => cpu.stats.launches.get(name) ?? 0;

describe('frozen body: evaluation from kept pooled vectors', () => {
  for (const dtype of ['f32', 'f64'] as const) {
    it(`${dtype}: classify(pooled) is forward's logits bit for bit`, async () => {
      const m = (await loadBert('bert-tiny', { backend: cpu, seed: 5, dtype, head: 'sequence-classification', numLabels: 2 })).model;
      const rng = new Rng(9);
      const [B, T] = [5, 11];
      const ids = tensor(Int32Array.from({ length: B * T }, () => 5 + Math.floor(rng.uniform(0, 1) * 4000)), [B, T], { backend: cpu, dtype: 'i32' });
      const mask = tensor(Float32Array.from({ length: B * T }, (_, i) => (i % T < 3 + (i / T | 0) ? 1 : 0)), [B, T], { backend: cpu, dtype });
      for (const poolerOnly of [false, true]) {
        const out = noGrad(() => m.forward({ ids, attentionMask: mask, poolerOnly }));
        const head = noGrad(() => tidy(() => m.classify(out.pooled!)));
        expect(Array.from(await head.data())).toEqual(Array.from(await out.logits!.data()));
      }
      expect(() => m.classify(tensor([1, 2], [2], { backend: cpu, dtype }))).toThrow(/bert: pooled has shape \[2\], expected \[2, 64\]/);
      m.dispose();
    });
  }

  it('cached evaluations equal uncached ones after the head changes, and the second runs no encoder kernel', async () => {
    const peft = new PeftModel(model, [await buildMethod('frozen', baseOf(model), {})]);
    const task = makeTask('spam', tokenizer, { batchSize: 16, maxLength: 48, seed: 1, evalLimit: 150 });
    const cache = frozenBodyCache(peft);
    expect(cache).toBeDefined();
    const rng = new Rng(4);
    const weight = model.params.tensor('classifier.weight');
    const bias = model.params.tensor('classifier.bias');
    for (let round = 0; round < 3; round++) {
      // a head that separates the validation mails differently each round (as training moves it)
      assignValues(weight, Float64Array.from({ length: weight.size }, () => rng.normal()));
      assignValues(bias, Float64Array.from({ length: bias.size }, () => rng.normal() * 0.1));
      const plain = await task.evaluate(peft, 'validation');
      const before = launches('attentionProbs');
      const cached = await task.evaluate(peft, 'validation', cache);
      // round 0 fills the cache (one encoder pass per batch: 3 batches × 4 layers); later rounds run the head only
      expect(launches('attentionProbs') - before).toBe(round === 0 ? 3 * 4 : 0);
      expect(cached).toEqual(plain);
    }
    cache!.dispose();
  });

  it('no cache for a method that trains or rewrites anything below the head', async () => {
    for (const method of ['full', 'bitfit', 'prefix', 'prompt', 'ptuning', 'ptuning-v2']) {
      const m = (await loadBert('bert-tiny', { backend: cpu, seed: 3, head: 'sequence-classification', numLabels: 2 })).model;
      const peft = new PeftModel(m, [await buildMethod(method, baseOf(m), { seed: 1 })]);
      expect(frozenBodyCache(peft), method).toBeUndefined();
      for (const a of peft.adapters.flat()) a.params.dispose();
      m.dispose();
    }
  });
});
