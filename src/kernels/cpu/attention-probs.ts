/**
 * attention_probs: masked, scaled softmax over the key axis with dropout, fused (one pass for forward, one for
 * backward), the same values as mul_scalar → where → softmax → dropout. Rows are (b, h, i) of (B, H, T, S).
 */
import type { AttentionProbsParams } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { uniformAt } from '../rng.js';
import { type FloatArray, floatArray } from './storage.js';

/** Whether key j is hidden from query i of batch row b. */
function blocked(keyMask: FloatArray, p: AttentionProbsParams, b: number, i: number, j: number): boolean {
  return keyMask[b * p.S + j] === 0 || (p.causal && j > p.S - p.T + i);
}

export function attentionProbs(scores: FloatArray, keyMask: FloatArray, p: AttentionProbsParams, dtype: FloatDType):
  { probs: FloatArray; softmax?: FloatArray } {
  const { B, H, T, S, scale } = p;
  const y = floatArray(dtype, B * H * T * S);
  const v = new Float64Array(S);
  for (let r = 0; r < B * H * T; r++) {
    const b = Math.floor(r / (H * T));
    const i = r % T;
    const o = r * S;
    let m = -Infinity;
    for (let j = 0; j < S; j++) {
      // scores · scale rounded to the dtype first, as the unfused chain stores it
      v[j] = blocked(keyMask, p, b, i, j) ? p.fill : (dtype === 'f32' ? Math.fround(scores[o + j] * scale) : scores[o + j] * scale);
      if (v[j] > m) m = v[j];
    }
    let sum = 0;
    for (let j = 0; j < S; j++) { const e = Math.exp(v[j] - m); y[o + j] = e; sum += e; }
    const inv = 1 / sum;
    for (let j = 0; j < S; j++) y[o + j] *= inv;
  }
  if (p.p === 0) return { probs: y };
  const probs = floatArray(dtype, y.length);
  const keep = 1 / (1 - p.p);
  for (let k = 0; k < y.length; k++) probs[k] = uniformAt(p.seed, k) >= p.p ? y[k] * keep : 0;
  return { probs, softmax: y };
}

export function attentionProbsBackward(y: FloatArray, g: FloatArray, keyMask: FloatArray, p: AttentionProbsParams,
  dtype: FloatDType): FloatArray {
  const { B, H, T, S, scale } = p;
  const ds = floatArray(dtype, B * H * T * S);
  const keep = p.p === 0 ? 1 : 1 / (1 - p.p);
  const gd = new Float64Array(S);
  for (let r = 0; r < B * H * T; r++) {
    const b = Math.floor(r / (H * T));
    const i = r % T;
    const o = r * S;
    let dot = 0;
    for (let j = 0; j < S; j++) {
      gd[j] = p.p === 0 ? g[o + j] : (uniformAt(p.seed, o + j) >= p.p ? g[o + j] * keep : 0);
      dot += gd[j] * y[o + j];
    }
    for (let j = 0; j < S; j++) ds[o + j] = blocked(keyMask, p, b, i, j) ? 0 : scale * y[o + j] * (gd[j] - dot);
  }
  return ds;
}
