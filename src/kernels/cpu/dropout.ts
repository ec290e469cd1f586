import type { FloatDType } from '../../autograd/dtype.js';
import { cpuMatmulKernel } from './matmul.js';
import { runThreaded, threadsFor } from './pool.js';
import { type FloatArray, floatArray } from './storage.js';
import { probsWasm } from './wasm-probs.js';

/**
 * Inverted dropout: out[i] = x[i]·keep/(1 − p), keep = uniformAt(seed, i) ≥ p (rng.ts). The mask is a pure function of
 * (seed, i), the same on every backend, so the backward redraws it by calling this kernel on g with the same seed.
 * Split across the worker pool (attention-probs.ts has the range kernel, beside the other kernels that draw masks; in
 * f32 where WebAssembly SIMD runs, wasm-probs.ts's, which gives the same bits four elements at a time).
 */
export function dropout(x: FloatArray, n: number, p: number, seed: number, dtype: FloatDType): FloatArray {
  if (p >= 1) return floatArray(dtype, n); // nothing kept (and no 0·∞)
  const out = floatArray(dtype, n, false); // every element is written
  const wasm = dtype === 'f32' && cpuMatmulKernel() === 'wasm-simd' ? probsWasm() : null;
  if (wasm !== null) runThreaded('dropoutRangeF32x4', [wasm, x, out, p, seed], n, threadsFor(12 * n), { writes: [2] });
  else runThreaded('dropoutRange', [x, out, p, seed], n, threadsFor(12 * n), { writes: [1] });
  return out;
}
