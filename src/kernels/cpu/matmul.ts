import { BackendError, type MatmulParams } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { broadcastStrides, fmt, numel } from '../../autograd/shape.js';
import { runThreaded, threadsFor } from './pool.js';
import { type FloatArray, floatArray, sharedFloatArray } from './storage.js';

/**
 * out (…batchOut, M, N) = op(A) @ op(B) with the batch dims of A and B broadcast to batchOut, plus bias (N) on every
 * row when given (added after the product is rounded to the dtype, as a separate add would).
 * A is stored (…, M, K), or (…, K, M) when transA; B is stored (…, K, N), or (…, N, K) when transB; transposed
 * operands are read in place through strides (gemm.ts packs panels of them, never a transposed copy).
 *
 * Work is split between threads by output rows only (batch item × row), so every element is summed in the same
 * order for any thread count: results are bit-identical for 1 and N threads.
 *
 * Rounding: each element is Σ_k A(i,k)·B(k,j) in blocks of KC = 256 terms summed in float64, the running total
 * rounded to the storage dtype after each block. Against the exact product, with u the dtype's unit roundoff
 * (2⁻²⁴ f32, 2⁻⁵³ f64), γ_n = n·u/(1 − n·u) and S = Σ_k |A(i,k)|·|B(k,j)|:
 *   f64: |err| ≤ γ_K · S
 *   f32: |err| ≤ (γ_⌈K/256⌉(2⁻²⁴) + 2·γ_K(2⁻⁵³)) · S   (much tighter than the classical γ_K(2⁻²⁴) · S)
 * test/cpu-matmul.test.ts checks both against a compensated (Dot2) reference.
 */
export function matmul(a: FloatArray, b: FloatArray, p: MatmulParams, dtype: FloatDType, bias: FloatArray | null = null): FloatArray {
  const { M, K, N } = p;
  const batch = numel(p.batchOut);
  const needA = numel(p.batchA) * M * K;
  const needB = numel(p.batchB) * K * N;
  if (a.length < needA || b.length < needB) {
    throw new BackendError(`cpu matmul: operands hold ${a.length} and ${b.length} elements; batch ${fmt(p.batchA)} × (${M}, ${K}) needs ${needA}, batch ${fmt(p.batchB)} × (${K}, ${N}) needs ${needB}`);
  }
  const rows = batch * M;
  const threads = threadsFor(rows * N * K);
  const out = threads > 1 ? sharedFloatArray(dtype, rows * N) : floatArray(dtype, rows * N);
  if (out.length === 0) return out;
  if (K === 0) { // an empty sum: zeros (plus the bias)
    if (bias) for (let r = 0; r < rows; r++) for (let n = 0; n < N; n++) out[r * N + n] = bias[n];
    return out;
  }
  const { offA, offB } = batchOffsets(p);
  // chunks of ≥ 32 rows (each chunk packs its own B panels), a multiple of 4 (the micro-kernel's height) where M allows
  runThreaded('gemmRows', [a, b, out, offA, offB, M, K, N, p.transA, p.transB, bias], rows, threads,
    { align: M % 4 === 0 ? 4 : 1, minChunk: 32, writes: [2] });
  return out;
}

/** Element offsets of A's and B's matrix for every output batch item, broadcasting resolved. */
function batchOffsets(p: MatmulParams): { offA: Float64Array; offB: Float64Array } {
  const batch = numel(p.batchOut);
  const stridesA = broadcastStrides(p.batchA, p.batchOut);
  const stridesB = broadcastStrides(p.batchB, p.batchOut);
  const rank = p.batchOut.length;
  const index = new Array<number>(rank).fill(0);
  const offA = new Float64Array(batch);
  const offB = new Float64Array(batch);
  let batchA = 0;
  let batchB = 0;
  for (let t = 0; t < batch; t++) {
    offA[t] = batchA * p.M * p.K;
    offB[t] = batchB * p.K * p.N;
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      batchA += stridesA[d];
      batchB += stridesB[d];
      if (index[d] < p.batchOut[d]) break;
      batchA -= stridesA[d] * p.batchOut[d];
      batchB -= stridesB[d] * p.batchOut[d];
      index[d] = 0;
    }
  }
  return { offA, offB };
}
