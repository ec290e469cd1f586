import { BackendError, type MatmulParams } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { broadcastStrides, fmt, numel } from '../../autograd/shape.js';
import { runThreaded, threadsFor } from './pool.js';
import { type FloatArray, floatArray, sharedFloatArray } from './storage.js';
import { gemmWasm } from './wasm-gemm.js';

export type CpuMatmulKernel = 'wasm-simd' | 'typescript';
let forced: CpuMatmulKernel | null = null;

/**
 * Which kernel the f32 matmul uses: 'wasm-simd' (wasm-gemm.ts) wherever WebAssembly SIMD validates, unless
 * WEBPEFT_CPU_SIMD=0 (Node) or setCpuMatmulKernel('typescript') says otherwise; f64 always uses gemm.ts. The same
 * switch chooses the f32 attention_probs rows and dropout (wasm-probs.ts), f32 gelu_erf (wasm-gelu.ts) and f32
 * add/sub/mul/div (wasm-binary.ts), column sums (wasm-sums.ts) and AdamW (wasm-adamw.ts), or the TypeScript kernels.
 */
export function cpuMatmulKernel(): CpuMatmulKernel {
  if (forced !== null) return forced === 'wasm-simd' && gemmWasm() === null ? 'typescript' : forced;
  // read once: process.env is a slow getter, and this runs on every matmul
  envDefault ??= (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.WEBPEFT_CPU_SIMD === '0' || gemmWasm() === null
    ? 'typescript' : 'wasm-simd';
  return envDefault;
}
let envDefault: CpuMatmulKernel | undefined;

/** Chooses the f32 matmul kernel (null: back to the default rule of cpuMatmulKernel). */
export function setCpuMatmulKernel(k: CpuMatmulKernel | null): void { forced = k; }

/**
 * out (…batchOut, M, N) = op(A) @ op(B) with the batch dims of A and B broadcast to batchOut, plus bias (N) on every
 * row when given (added after the product is rounded to the dtype, as a separate add would).
 * A is stored (…, M, K), or (…, K, M) when transA; B is stored (…, K, N), or (…, N, K) when transB; transposed
 * operands are read in place through strides (gemm.ts packs panels of them, never a transposed copy).
 *
 * Work is split between threads by output rows only (batch item × row), so every element is summed in the same
 * order for any thread count: results are bit-identical for 1 and N threads.
 *
 * Rounding: each element is Σ_k A(i,k)·B(k,j) in blocks of KC = 256 terms, the running total rounded to the storage
 * dtype after each block. Against the exact product, with u the dtype's unit roundoff (2⁻²⁴ f32, 2⁻⁵³ f64),
 * γ_n = n·u/(1 − n·u), S = Σ_k |A(i,k)|·|B(k,j)| and k₁ = min(K, 256):
 *   f64 (gemm.ts, each block summed in f64):                |err| ≤ γ_K(2⁻⁵³) · S
 *   f32, 'wasm-simd' (each block summed in f32):            |err| ≤ γ_(k₁ + ⌈K/256⌉)(2⁻²⁴) · S
 *     (a term meets one product rounding, at most k₁ − 1 additions in its block and ⌈K/256⌉ − 1 into the total:
 *     the classical recursive-summation bound, as BLAS sgemm gives)
 *   f32, 'typescript' (each block summed in f64, products exact): |err| ≤ (γ_⌈K/256⌉(2⁻²⁴) + 2·γ_K(2⁻⁵³)) · S
 * test/cpu-matmul.test.ts checks all three against a compensated (Dot2) reference.
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
  // with K > 0 the kernels store every element on the first K block, so a pooled array need not be zeroed first
  const zeroed = K === 0;
  const out = threads > 1 ? sharedFloatArray(dtype, rows * N, zeroed) : floatArray(dtype, rows * N, zeroed);
  if (out.length === 0) return out;
  if (K === 0) { // an empty sum: zeros (plus the bias)
    if (bias) for (let r = 0; r < rows; r++) for (let n = 0; n < N; n++) out[r * N + n] = bias[n];
    return out;
  }
  const { offA, offB } = batchOffsets(p);
  // chunks of ≥ 32 rows (each chunk packs its own B panels), a multiple of 4 (the micro-kernel's height) where M allows
  const wasm = dtype === 'f32' && cpuMatmulKernel() === 'wasm-simd' ? gemmWasm() : null;
  if (wasm !== null) {
    runThreaded('gemmRowsF32x4', [wasm, a, b, out, offA, offB, M, K, N, p.transA, p.transB, bias], rows, threads,
      { align: M % 4 === 0 ? 4 : 1, minChunk: 32, writes: [3] });
  } else {
    runThreaded('gemmRows', [a, b, out, offA, offB, M, K, N, p.transA, p.transB, bias], rows, threads,
      { align: M % 4 === 0 ? 4 : 1, minChunk: 32, writes: [2] });
  }
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
