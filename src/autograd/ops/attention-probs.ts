import type { AttentionProbsParams } from '../backend.js';
import type { FloatDType } from '../dtype.js';
import { fmt } from '../shape.js';
import { type OpDef, wrap } from '../op.js';
import type { Tensor } from '../tensor.js';

export interface AttentionProbsAttrs {
  /** Multiplies the scores before masking (1/√Dh, …). */
  scale: number;
  /** Query i (of T) sees key j (of S) only if j ≤ S − T + i. */
  causal: boolean;
  /** Dropout on the probabilities (0 = none) and its mask's seed. */
  p: number;
  seed: number;
}

/** torch.finfo(dtype).min: what HF writes into masked scores. */
const finfoMin = (dtype: FloatDType): number => (dtype === 'f64' ? -Number.MAX_VALUE : -3.4028234663852886e38);

function params(scores: Tensor, a: AttentionProbsAttrs): AttentionProbsParams {
  const [B, H, T, S] = scores.shape;
  return { B, H, T, S, scale: a.scale, causal: a.causal, p: a.p, seed: a.seed, fill: finfoMin(scores.dtype as FloatDType) };
}

/**
 * Attention probabilities in one kernel: dropout(softmax(masked_fill(scores · scale, blocked, finfo.min))) over
 * the key axis, blocked = keyMask (B, S) is 0, or the causal rule. The same values as mul → where → softmax →
 * dropout (four passes over the (B, H, T, S) scores, plus the mask's eq/maximum), and one backward pass instead
 * of six: dscores = scale · y ⊙ (gd − Σ gd ⊙ y), gd = dropout(g) redrawn from the seed, 0 where blocked.
 * Saves y = softmax before dropout (when p = 0 that is the output itself). The key mask gets no gradient.
 */
export const attentionProbsOp: OpDef<AttentionProbsAttrs> = {
  name: 'attention_probs',
  arity: 2,
  nondiff: [1],
  shape: ([scores, keyMask], { p, causal }) => {
    if (scores.length !== 4) throw new Error(`scores must be (B, H, T, S), got ${fmt(scores)}`);
    const [B, , T, S] = scores;
    if (keyMask.length !== 2 || keyMask[0] !== B || keyMask[1] !== S) throw new Error(`key mask ${fmt(keyMask)} must be [${B}, ${S}]`);
    if (causal && S < T) throw new Error(`${S} keys cannot be causal for ${T} queries`);
    if (!(p >= 0 && p < 1)) throw new Error(`dropout probability ${p} must be in [0, 1)`);
    return scores;
  },
  forward: ([scores, keyMask], attrs, shape) => {
    const b = scores.backend;
    const dtype = scores.dtype as FloatDType;
    const r = b.attentionProbs(scores.storage, keyMask.storage, params(scores, attrs), dtype);
    const out = wrap(b, r.probs, shape, dtype);
    return r.softmax ? { out, saved: [wrap(b, r.softmax, shape, dtype)] } : out;
  },
  backward: ({ inputs: [scores, keyMask], output, saved, attrs }, g) => {
    const b = scores.backend;
    const y = saved[0] ?? output;
    const ds = b.attentionProbsBackward(y.storage, g.storage, keyMask.storage, params(scores, attrs), scores.dtype as FloatDType);
    return [wrap(b, ds, scores.shape, scores.dtype), null];
  },
  check: {
    cases: (f) => f.tuple(f.integer({ min: 1, max: 2 }), f.integer({ min: 1, max: 2 }), f.integer({ min: 1, max: 3 }), f.integer({ min: 0, max: 2 }),
      f.boolean(), f.constantFrom(0, 0.1, 0.5), f.constantFrom(1, 0.5), f.integer({ min: 0, max: 2 ** 31 - 1 }))
      .map(([B, H, T, extra, causal, p, scale, seed]) => ({
        inputs: [
          { kind: 'float' as const, shape: [B, H, T, T + extra], min: -3, max: 3 },
          { kind: 'mask' as const, shape: [B, T + extra] },
        ],
        attrs: { scale, causal, p, seed },
      })),
  },
};
