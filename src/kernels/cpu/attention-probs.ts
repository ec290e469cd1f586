/**
 * attention_probs: masked, scaled softmax over the key axis with dropout, fused (one pass for forward, one for
 * backward), the same values as mul_scalar → where → softmax → dropout. Rows are (b, h, i) of (B, H, T, S).
 */
import type { AttentionProbsParams } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { uniformAt } from '../rng.js';
import { type FloatArray, floatArray } from './storage.js';

/**
 * The first key query i of batch row b may not see because of causality (S when none): with `causal`, key j is
 * hidden iff j > S − T + i. A key is also hidden where keyMask[b, j] = 0.
 */
function causalLimit(p: AttentionProbsParams, i: number): number {
  return p.causal ? Math.max(0, Math.min(p.S, p.S - p.T + i + 1)) : p.S;
}

export function attentionProbs(scores: FloatArray, keyMask: FloatArray, p: AttentionProbsParams, dtype: FloatDType):
  { probs: FloatArray; softmax?: FloatArray } {
  const { B, H, T, S, scale, fill } = p;
  const y = floatArray(dtype, B * H * T * S);
  const v = new Float64Array(S);
  const f32 = dtype === 'f32';
  for (let r = 0; r < B * H * T; r++) {
    const mask = Math.floor(r / (H * T)) * S; // keyMask row b
    const limit = causalLimit(p, r % T);
    const o = r * S;
    let m = -Infinity;
    for (let j = 0; j < S; j++) {
      // scores · scale rounded to the dtype first, as the unfused chain stores it
      const x = keyMask[mask + j] === 0 || j >= limit ? fill : (f32 ? Math.fround(scores[o + j] * scale) : scores[o + j] * scale);
      v[j] = x;
      if (x > m) m = x;
    }
    let sum = 0;
    for (let j = 0; j < S; j++) { const e = Math.exp(v[j] - m); y[o + j] = e; sum += e; }
    const inv = 1 / sum;
    for (let j = 0; j < S; j++) y[o + j] *= inv;
  }
  if (p.p === 0) return { probs: y };
  const probs = floatArray(dtype, y.length);
  const keep = 1 / (1 - p.p);
  const drop = p.p, seed = p.seed;
  for (let k = 0; k < y.length; k++) probs[k] = uniformAt(seed, k) >= drop ? y[k] * keep : 0;
  return { probs, softmax: y };
}

export function attentionProbsBackward(y: FloatArray, g: FloatArray, keyMask: FloatArray, p: AttentionProbsParams,
  dtype: FloatDType): FloatArray {
  const { B, H, T, S, scale } = p;
  const ds = floatArray(dtype, B * H * T * S);
  const keep = p.p === 0 ? 1 : 1 / (1 - p.p);
  const drop = p.p, seed = p.seed;
  const gd = new Float64Array(S);
  for (let r = 0; r < B * H * T; r++) {
    const mask = Math.floor(r / (H * T)) * S;
    const limit = causalLimit(p, r % T);
    const o = r * S;
    let dot = 0;
    if (drop === 0) {
      for (let j = 0; j < S; j++) { const x = g[o + j]; gd[j] = x; dot += x * y[o + j]; }
    } else {
      for (let j = 0; j < S; j++) {
        const x = uniformAt(seed, o + j) >= drop ? g[o + j] * keep : 0;
        gd[j] = x;
        dot += x * y[o + j];
      }
    }
    for (let j = 0; j < S; j++) ds[o + j] = keyMask[mask + j] === 0 || j >= limit ? 0 : scale * y[o + j] * (gd[j] - dot);
  }
  return ds;
}
