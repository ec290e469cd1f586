/**
 * The kernels that draw dropout masks. attention_probs: masked, scaled softmax over the key axis with dropout, fused
 * (one pass for forward, one for backward), the same values as mul_scalar → where → softmax → dropout; rows are
 * (b, h, i) of (B, H, T, S). dropout itself (dropout.ts calls dropoutRange). All run on the worker pool, and draw
 * through one pool helper, dropoutDraw (threaded-kernels.ts; a helper must live beside its callers, pointwise.ts
 * says why). In f32, where WebAssembly SIMD runs, attention_probs' rows run in wasm-probs.ts instead (its exponential
 * is within 1 f32 ulp of Math.exp's, its draws the same bits).
 */
import type { AttentionProbsParams } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { cpuMatmulKernel } from './matmul.js';
import { runThreaded, threadsFor } from './pool.js';
import { type FloatArray, floatArray, sharedFloatArray } from './storage.js';
import { probsWasm } from './wasm-probs.js';

/** The f32 rows in WebAssembly SIMD (wasm-probs.ts) where the f32 kernels use it (matmul.ts's switch), else null. */
const simdFor = (dtype: FloatDType): Uint8Array | null => (dtype === 'f32' && cpuMatmulKernel() === 'wasm-simd' ? probsWasm() : null);

/**
 * uniformAt(seed, index) of rng.ts — hash32(seed ^ hash32(index)) >> 8 / 2^24, lowbias32 in u32 arithmetic — written
 * out here because the pool's workers declare it by its own text (test/cpu-pool.test.ts checks it equals uniformAt).
 * SELF-CONTAINED.
 */
export function dropoutDraw(seed: number, index: number): number {
  let x = index >>> 0;
  x ^= x >>> 16; x = Math.imul(x, 0x7feb352d) >>> 0; x ^= x >>> 15; x = Math.imul(x, 0x846ca68b) >>> 0; x ^= x >>> 16;
  x = ((seed >>> 0) ^ x) >>> 0;
  x ^= x >>> 16; x = Math.imul(x, 0x7feb352d) >>> 0; x ^= x >>> 15; x = Math.imul(x, 0x846ca68b) >>> 0; x ^= x >>> 16;
  return (x >>> 8) / 16777216;
}

/**
 * Inverted dropout of elements [g0, g1): out[i] = x[i]·1/(1 − p) where dropoutDraw(seed, i) ≥ p, else 0 (p < 1).
 * A pool kernel.
 */
export function dropoutRange(x: FloatArray, out: FloatArray, p: number, seed: number, g0: number, g1: number): void {
  const scale = 1 / (1 - p);
  for (let i = g0; i < g1; i++) out[i] = dropoutDraw(seed, i) >= p ? x[i] * scale : 0;
}

export function attentionProbs(scores: FloatArray, keyMask: FloatArray, p: AttentionProbsParams, dtype: FloatDType):
  { probs: FloatArray; softmax?: FloatArray } {
  const { B, H, T, S } = p;
  const rows = B * H * T;
  const threads = threadsFor(16 * rows * S);
  const alloc = (n: number) => (threads > 1 ? sharedFloatArray : floatArray)(dtype, n, false); // every element is written
  const y = alloc(rows * S);
  const probs = p.p === 0 ? null : alloc(rows * S);
  const wasm = simdFor(dtype);
  if (wasm !== null) {
    runThreaded('attentionProbsRowsF32x4', [wasm, scores, keyMask, y, probs, H, T, S, p.scale, p.fill, p.causal, p.p, p.seed],
      rows, threads, { writes: probs ? [3, 4] : [3] });
  } else {
    runThreaded('attentionProbsRows', [scores, keyMask, y, probs, H, T, S, p.scale, p.fill, p.causal, dtype === 'f32', p.p, p.seed],
      rows, threads, { writes: probs ? [2, 3] : [2] });
  }
  return probs ? { probs, softmax: y } : { probs: y };
}

/**
 * Rows [r0, r1) (rows are (b, h, i) of (B, H, T, S)) of the forward: y = softmax of the masked, scaled scores and,
 * when probs is given, probs = dropout(y) with the mask `dropout` draws for the whole tensor (dropoutDraw(seed, r·S + j)).
 * Key j is hidden from query i where keyMask[b, j] = 0 or, with `causal`, j > S − T + i.
 * A pool kernel: a worker runs its source text (pool.ts), so it calls nothing but the helper dropoutDraw.
 */
export function attentionProbsRows(scores: FloatArray, keyMask: FloatArray, y: FloatArray, probs: FloatArray | null,
  H: number, T: number, S: number, scale: number, fill: number, causal: boolean, f32: boolean, drop: number, seed: number,
  r0: number, r1: number): void {
  const v = new Float64Array(S);
  const keep = 1 / (1 - drop);
  for (let r = r0; r < r1; r++) {
    const mask = Math.floor(r / (H * T)) * S; // keyMask row b
    const i = r % T;
    const limit = causal ? Math.max(0, Math.min(S, S - T + i + 1)) : S;
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
    if (probs !== null) {
      for (let j = 0; j < S; j++) probs[o + j] = dropoutDraw(seed, o + j) >= drop ? y[o + j] * keep : 0;
    }
  }
}

export function attentionProbsBackward(y: FloatArray, g: FloatArray, keyMask: FloatArray, p: AttentionProbsParams,
  dtype: FloatDType): FloatArray {
  const { B, H, T, S } = p;
  const rows = B * H * T;
  const threads = threadsFor(16 * rows * S);
  const ds = (threads > 1 ? sharedFloatArray : floatArray)(dtype, rows * S, false); // every element is written
  const wasm = simdFor(dtype);
  if (wasm !== null) {
    runThreaded('attentionProbsBackwardRowsF32x4', [wasm, y, g, keyMask, ds, H, T, S, p.scale, p.causal, p.p, p.seed], rows, threads, { writes: [4] });
  } else {
    runThreaded('attentionProbsBackwardRows', [y, g, keyMask, ds, H, T, S, p.scale, p.causal, p.p, p.seed], rows, threads, { writes: [3] });
  }
  return ds;
}

/**
 * Rows [r0, r1) of the backward: ds = scale·y⊙(gd − Σ gd⊙y), gd = dropout(g) with the forward's mask, 0 at hidden keys.
 * A pool kernel: a worker runs its source text (pool.ts), so it calls nothing but the helper dropoutDraw.
 */
export function attentionProbsBackwardRows(y: FloatArray, g: FloatArray, keyMask: FloatArray, ds: FloatArray,
  H: number, T: number, S: number, scale: number, causal: boolean, drop: number, seed: number, r0: number, r1: number): void {
  const keep = drop === 0 ? 1 : 1 / (1 - drop);
  const gd = new Float64Array(S);
  for (let r = r0; r < r1; r++) {
    const mask = Math.floor(r / (H * T)) * S;
    const i = r % T;
    const limit = causal ? Math.max(0, Math.min(S, S - T + i + 1)) : S;
    const o = r * S;
    let dot = 0;
    if (drop === 0) {
      for (let j = 0; j < S; j++) { const x = g[o + j]; gd[j] = x; dot += x * y[o + j]; }
    } else {
      for (let j = 0; j < S; j++) {
        const x = dropoutDraw(seed, o + j) >= drop ? g[o + j] * keep : 0;
        gd[j] = x;
        dot += x * y[o + j];
      }
    }
    for (let j = 0; j < S; j++) ds[o + j] = keyMask[mask + j] === 0 || j >= limit ? 0 : scale * y[o + j] * (gd[j] - dot);
  }
}
