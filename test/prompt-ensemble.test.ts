/**
 * Prompt ensembling in one batch (src/train/ensemble.ts): K prompts trained in one mixed-adapter batch end where K
 * separate runs with the same seeds end (to rounding), and the ensemble's prediction is the mean of the K prompts'
 * probabilities.
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { noGrad } from '../src/autograd/op.js';
import type { Batch } from '../src/data/datasets.js';
import { parseBertConfig, parseGpt2Config } from '../src/io/config.js';
import { Rng } from '../src/kernels/rng.js';
import { Bert } from '../src/models/bert.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { promptTuning } from '../src/peft/prompt-tuning.js';
import { ensembleProbabilities, ensemblePrompts, replicateBatch, softmaxRows, trainEnsemble } from '../src/train/ensemble.js';
import { trainLoop, batchTensors } from '../src/train/trainer.js';

const gptConfig = parseGpt2Config({ vocab_size: 17, n_positions: 40, n_embd: 8, n_head: 2, n_layer: 2 }, 'tiny-gpt2');

function randomized<M extends Gpt2 | Bert>(model: M, seed: number): M {
  const rng = new Rng(seed);
  for (const [name, t] of model.params) {
    const gain = /(ln_\d|ln_f|LayerNorm)\.weight$/.test(name) ? 1 : 0;
    model.params.assign(name, Array.from({ length: t.size }, () => gain + 0.3 * rng.normal()));
  }
  return model;
}

/** Two LM rows, right-padded, labels on the real tokens. */
const lmBatch = (step: number): Batch => {
  const rows = [[1 + (step % 3), 4, 9, 2, 7], [3, 3, 8, 5, 0]];
  const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]];
  return {
    ids: Int32Array.from(rows.flat()), attentionMask: Int32Array.from(mask.flat()),
    labels: Int32Array.from(rows.flat().map((id, i) => (mask.flat()[i] ? id : -100))), shape: [2, 5], labelShape: [2, 5],
  };
};

describe('prompt ensembling in one batch', () => {
  it('replicates each example K times, prompt-major, with each row’s adapter id', () => {
    const b = replicateBatch(lmBatch(0), 3);
    expect(b.shape).toEqual([6, 5]);
    expect(Array.from(b.adapterIds)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(Array.from(b.ids.subarray(20, 30))).toEqual(Array.from(lmBatch(0).ids));
    expect(() => replicateBatch(lmBatch(0), 0)).toThrow('K must be a positive integer');
  });

  for (const dtype of ['f64', 'f32'] as const) {
    // The same arithmetic up to rounding: the loss scale K and reductions over K·B rather than B rows may round
    // differently. Each AdamW step moves an element by ≤ lr, with a relative error of a few ε, so after S steps
    // |Δθ| ≲ S · lr · 16 · ε: 6 · 0.05 · 16 · 2^-23 ≈ 5.7e-7 in f32, 1e-15 in f64 (we allow 1e-12). Measured on the
    // CPU backend: 0 in both (its kernels compute each row alone). Each setting fails when broken: without the
    // factor K (clipping off, AdamW's ε sees the scale) the prompts differ by 4.5e-6; with one clip over all K
    // prompts instead of one per prompt (clip 0.01 binds at every step) by 1.3e-2.
    const bound = dtype === 'f64' ? 1e-12 : 6 * 0.05 * 16 * 2 ** -23;
    for (const clip of [0, 0.01]) {
      it(`K = 3 prompts trained in one batch equal 3 separate runs with the same seeds (${dtype}, clip ${clip || 'off'}, |Δ| ≤ ${bound.toExponential(1)})`, async () => {
        const model = randomized(Gpt2.init(gptConfig, { seed: 2, dtype }), 5);
        const base = baseOf(model);
        const config = { steps: 6, lr: 0.05, clip, seed: 1 };
        const prompt = { numVirtualTokens: 3, init: { kind: 'vocab' as const }, seed: 10 };
        const together = new PeftModel(model, await ensemblePrompts(base, prompt, 3));
        const joint = await trainEnsemble({ peft: together, batch: lmBatch, config });
        joint.optimizer.dispose();
        let worst = 0;
        for (let j = 0; j < 3; j++) {
          const alone = new PeftModel(model, [await promptTuning(base, { ...prompt, seed: 10 + j })]);
          const run = await trainLoop({
            trainable: alone.trainable(), batch: lmBatch, config,
            loss: (b, step) => {
              const t = batchTensors(b, model.backend, dtype);
              return alone.forward({ ids: t.ids, attentionMask: t.attentionMask, labels: t.labels, seed: step }).loss!;
            },
          });
          run.optimizer.dispose();
          const [a, b] = [together.adapters[j][0].params.trainable()[0].dataSync(), alone.adapters[0][0].params.trainable()[0].dataSync()];
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        expect(worst).toBeLessThanOrEqual(bound);
      });
    }
  }

  it('the prompts do move apart from their initial values (the comparison above is not of untrained prompts)', async () => {
    const model = randomized(Gpt2.init(gptConfig, { seed: 2, dtype: 'f64' }), 5);
    const peft = new PeftModel(model, await ensemblePrompts(baseOf(model), { numVirtualTokens: 3, seed: 10 }, 2));
    const before = peft.adapters.map((a) => Float64Array.from(a[0].params.trainable()[0].dataSync()));
    const r = await trainEnsemble({ peft, batch: lmBatch, config: { steps: 6, lr: 0.05, seed: 1 } });
    r.optimizer.dispose();
    peft.adapters.forEach((a, j) => expect(Array.from(a[0].params.trainable()[0].dataSync())).not.toEqual(Array.from(before[j])));
    expect(r.losses[5]).toBeLessThan(r.losses[0]);
  });

  it("the ensemble's prediction is the mean of the K prompts' probabilities (BERT classifier, f64)", async () => {
    const config = parseBertConfig({ vocab_size: 23, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 12,
      max_position_embeddings: 32, num_labels: 3 }, 'tiny-bert');
    const model = randomized(Bert.init(config, { seed: 4, dtype: 'f64', head: 'sequence-classification' }), 6);
    const base = baseOf(model);
    const adapters = await ensemblePrompts(base, { numVirtualTokens: 2, seed: 3 }, 4);
    const batch: Batch = {
      ids: Int32Array.from([1, 5, 7, 2, 1, 9, 2, 0]), attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 0]),
      labels: Int32Array.from([0, 2]), shape: [2, 4], labelShape: [2],
    };
    const { probs, shape } = await ensembleProbabilities(new PeftModel(model, adapters), batch);
    expect(shape).toEqual([2, 3]);
    const expected = new Float64Array(6);
    for (const adapter of adapters) {
      const logits = noGrad(() => new PeftModel(model, [adapter]).forward({
        ids: tensor(batch.ids, [2, 4], { dtype: 'i32' }), attentionMask: tensor(batch.attentionMask, [2, 4], { dtype: 'f64' }),
      }).logits!.dataSync());
      softmaxRows(logits, 3).forEach((p, i) => { expected[i] += p / adapters.length; });
    }
    for (let i = 0; i < 6; i++) expect(Math.abs(probs[i] - expected[i])).toBeLessThanOrEqual(1e-14);
    // the K prompts disagree, so the average is not any one of them
    const first = softmaxRows(noGrad(() => new PeftModel(model, [adapters[0]]).forward({ ids: tensor(batch.ids, [2, 4], { dtype: 'i32' }),
      attentionMask: tensor(batch.attentionMask, [2, 4], { dtype: 'f64' }) }).logits!.dataSync()), 3);
    expect(Math.max(...Array.from(first, (p, i) => Math.abs(p - probs[i])))).toBeGreaterThan(1e-4);
    for (let b = 0; b < 2; b++) expect(probs[b * 3] + probs[b * 3 + 1] + probs[b * 3 + 2]).toBeCloseTo(1, 14);
  });
});
