/**
 * P-tuning templates: virtual tokens anywhere with anchor tokens kept, for a verbalizer over BERT's MLM head.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { gradcheckTensors, F64_TOLERANCE } from '../src/autograd/gradcheck.js';
import { noGrad } from '../src/autograd/op.js';
import { tidy } from '../src/autograd/tensor.js';
import { parseBertConfig } from '../src/io/config.js';
import { Rng } from '../src/kernels/rng.js';
import { Bert } from '../src/models/bert.js';
import { baseOf } from '../src/peft/base.js';
import { pTuning } from '../src/peft/p-tuning.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { promptTuning } from '../src/peft/prompt-tuning.js';
import { parseTemplate, renderTemplate, virtualCount } from '../src/peft/template.js';

const config = parseBertConfig({ vocab_size: 30, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 12, max_position_embeddings: 40 }, 'tiny');
const model = Bert.init(config, { seed: 1, dtype: 'f64', head: 'masked-lm' });
const rng = new Rng(2);
for (const [n, t] of model.params) model.params.assign(n, Array.from({ length: t.size }, () => (/LayerNorm\.weight$/.test(n) ? 1 : 0) + 0.3 * rng.normal()));
const base = baseOf(model);
// a toy "tokenizer": each character is a token id (a → 5, b → 6, …)
const encode = (s: string) => [...s.replace(/\s/g, '')].map((c) => (c.charCodeAt(0) - 97) % 20 + 5);
const MASK = 4;

describe('templates', () => {
  it('parses virtual tokens, the input, anchors and [MASK]', () => {
    expect(parseTemplate('{p:3} {x} it was {p:2} [MASK]')).toEqual([
      { kind: 'virtual', count: 3 }, { kind: 'input' }, { kind: 'text', text: 'it was' }, { kind: 'virtual', count: 2 }, { kind: 'mask' },
    ]);
    expect(() => parseTemplate('{p:2} [MASK]')).toThrow(/\{x\} exactly once/);
  });

  it('virtual slots filled with the embeddings of tokens ≡ the base model on those tokens in place', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 5, max: 29 }), { minLength: 3, maxLength: 3 }),
      fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
      async (virtualIds, inputs) => {
        const parts = parseTemplate('{p:2} {x} ok {p:1} [MASK]');
        expect(virtualCount(parts)).toBe(3);
        const r = renderTemplate(parts, inputs, { encode, placeholderId: 0, maskId: MASK, prefix: [2], suffix: [3], maxLength: 30, padId: 0 });
        const method = await promptTuning(base, { numVirtualTokens: 3, init: { kind: 'text', ids: virtualIds } });
        const peft = new PeftModel(model, [method]);
        const ids = tensor(r.ids, r.shape, { dtype: 'i32' });
        const mask = tensor(r.attentionMask, r.shape, { dtype: 'f64' });
        const got = noGrad(() => tidy(() => Array.from(peft.forward({ ids, attentionMask: mask, layout: r.layout }).logits!.dataSync())));
        // the same rows with the real tokens written into the slots
        const filled = Int32Array.from(r.ids, (id, i) => (r.layout.slots[i] >= 0 ? virtualIds[r.layout.slots[i]] : id));
        const want = noGrad(() => tidy(() => Array.from(model.forward({ ids: tensor(filled, r.shape, { dtype: 'i32' }), attentionMask: mask }).logits!.dataSync())));
        const worst = got.reduce((w, g, i) => Math.max(w, Math.abs(g - want[i])), 0);
        expect(worst).toBeLessThan(1e-10);
        expect(Array.from(r.maskPositions).every((p, b) => r.ids[b * r.shape[1] + p] === MASK)).toBe(true);
      }), { numRuns: 15 });
  });

  it("trains a P-tuning LSTM encoder through a template and a verbalizer: gradients match finite differences", () => {
    const method = pTuning(base, { numVirtualTokens: 3, encoder: 'lstm', encoderHidden: 4, seed: 3 });
    const peft = new PeftModel(model, [method]);
    const r = renderTemplate(parseTemplate('{p:2} {x} {p:1} [MASK]'), ['abc', 'dd'], { encode, placeholderId: 0, maskId: MASK, prefix: [2], suffix: [3], maxLength: 20, padId: 0 });
    // verbalizer: class 0 ↔ token 7, class 1 ↔ token 9; MLM labels only at [MASK]
    const labels = new Int32Array(r.ids.length).fill(-100);
    r.maskPositions.forEach((p, b) => { labels[b * r.shape[1] + p] = b === 0 ? 7 : 9; });
    const ids = tensor(r.ids, r.shape, { dtype: 'i32' });
    const mask = tensor(r.attentionMask, r.shape, { dtype: 'f64' });
    const lab = tensor(labels, r.shape, { dtype: 'i32' });
    const report = gradcheckTensors(() => peft.forward({ ids, attentionMask: mask, labels: lab, layout: r.layout }).loss!, peft.trainable(), { samples: 2, seed: 1 });
    expect(report.length).toBeGreaterThan(10);
    for (const x of report) expect(x.maxRelErr, x.name).toBeLessThanOrEqual(F64_TOLERANCE);
  });
});
