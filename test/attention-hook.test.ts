/**
 * The attention observer (ModelHooks.attentionProbs, PeftModel's `onAttention`): every layer's probabilities,
 * (B, H, T, S) with a kv prefix's keys first, as attention used them — rows that sum to 1 over the keys a query may
 * see, zero on padding (and, GPT-2, on future positions) — and watching changes nothing in the pass.
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { noGrad } from '../src/autograd/op.js';
import { keep, tidy, type Tensor } from '../src/autograd/tensor.js';
import { parseBertConfig, parseGpt2Config } from '../src/io/config.js';
import { Bert } from '../src/models/bert.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { pTuningV2 } from '../src/peft/p-tuning-v2.js';

const P = 3;

/** Runs `forward` with an observer; returns the logits and each layer's probabilities (read back). */
function observed(forward: (onAttention: (layer: number, probs: Tensor) => void) => Tensor) {
  const seen: { layer: number; shape: readonly number[]; values: Float64Array }[] = [];
  const logits = noGrad(() => tidy(() => keep(forward((layer, probs) => {
    seen.push({ layer, shape: probs.shape, values: Float64Array.from(probs.dataSync()) });
  }))));
  const out = Float64Array.from(logits.dataSync());
  logits.dispose();
  return { logits: out, seen };
}

describe('the attention observer', () => {
  it('BERT under P-tuning v2: each layer once, (B, H, T, P+T), rows sum to 1, padding keys get 0, logits unchanged', () => {
    const config = parseBertConfig({ vocab_size: 30, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 32 });
    const model = Bert.init(config, { seed: 5, dtype: 'f64', head: 'sequence-classification' });
    const peft = new PeftModel(model, [pTuningV2(baseOf(model), { numVirtualTokens: P, seed: 1 })]);
    const [B, T] = [2, 5];
    const mask = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]; // row 1: two padding positions
    const input = () => ({ ids: tensor([1, 4, 5, 6, 2, 1, 7, 2, 0, 0], [B, T], { dtype: 'i32' }), attentionMask: tensor(mask, [B, T], { dtype: 'f64' }) });
    const plain = noGrad(() => tidy(() => Float64Array.from((peft.forward(input()) as { logits: Tensor }).logits.dataSync())));
    const { logits, seen } = observed((onAttention) => (peft.forward({ ...input(), onAttention }) as { logits: Tensor }).logits);
    expect(Array.from(logits)).toEqual(Array.from(plain));
    expect(seen.map((s) => s.layer)).toEqual([0, 1]);
    const H = config.numAttentionHeads, S = P + T;
    for (const s of seen) {
      expect(s.shape).toEqual([B, H, T, S]);
      for (let row = 0; row < B * H * T; row++) {
        const b = Math.floor(row / (H * T));
        const probs = s.values.subarray(row * S, (row + 1) * S);
        expect(probs.reduce((a, x) => a + x, 0)).toBeCloseTo(1, 12);
        for (let j = 0; j < T; j++) if (!mask[b * T + j]) expect(probs[P + j]).toBe(0);
        for (let j = 0; j < P; j++) expect(probs[j]).toBeGreaterThan(0); // every query sees the prefix
      }
    }
  });

  it('GPT-2 with no PEFT: hooks passed straight to the model; causal rows are zero past the query', () => {
    const model = Gpt2.init(parseGpt2Config({ vocab_size: 20, n_positions: 16, n_embd: 8, n_head: 2, n_layer: 3 }, 'tiny'), { seed: 2, dtype: 'f64' });
    const T = 4;
    const { seen } = observed((attentionProbs) => model.forward({ ids: tensor([3, 1, 4, 1], [1, T], { dtype: 'i32' }), hooks: { attentionProbs } }).logits);
    expect(seen.map((s) => s.layer)).toEqual([0, 1, 2]);
    for (const s of seen) {
      expect(s.shape).toEqual([1, 2, T, T]);
      for (let h = 0; h < 2; h++) for (let i = 0; i < T; i++) {
        const probs = s.values.subarray((h * T + i) * T, (h * T + i + 1) * T);
        expect(probs.reduce((a, x) => a + x, 0)).toBeCloseTo(1, 12);
        for (let j = i + 1; j < T; j++) expect(probs[j]).toBe(0);
      }
    }
  });
});
