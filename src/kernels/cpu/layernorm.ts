import type { FloatDType } from '../../autograd/dtype.js';
import { runThreaded, threadsFor } from './pool.js';
import { cpuMatmulKernel } from './matmul.js';
import { type FloatArray, floatArray, sharedFloatArray } from './storage.js';
import { layernormWasm } from './wasm-layernorm.js';

/** The SIMD module for f32 storages (wasm-layernorm.ts: the same bits), else null. */
const simdModule = (dtype: FloatDType): Uint8Array | null => (dtype === 'f32' && cpuMatmulKernel() === 'wasm-simd' ? layernormWasm() : null);
/** The module for the row kernels, which need a multiple of 4 columns; else null. */
const simdRows = (dtype: FloatDType, cols: number): Uint8Array | null => (cols % 4 === 0 && cols > 0 ? simdModule(dtype) : null);

/**
 * Layer normalization over the last axis, as torch.nn.LayerNorm:
 *   x (rows, cols), gamma (cols), beta (cols)
 *   mean = Σx / cols, var = Σ(x − mean)² / cols (biased), rstd = 1/√(var + eps)
 *   y = (x − mean)·rstd·gamma + beta
 * mean and rstd (rows) are returned for the backward.
 */
export function layernorm(
  x: FloatArray, gamma: FloatArray, beta: FloatArray, rows: number, cols: number, eps: number, dtype: FloatDType,
): { y: FloatArray; mean: FloatArray; rstd: FloatArray } {
  const threads = threadsFor(4 * rows * cols);
  const alloc = threads > 1 ? sharedFloatArray : floatArray;
  // every element of the three is written
  const y = alloc(dtype, rows * cols, false);
  const mean = alloc(dtype, rows, false);
  const rstd = alloc(dtype, rows, false);
  const wasm = simdRows(dtype, cols);
  if (wasm !== null) runThreaded('layernormRowsF32x4', [wasm, x, gamma, beta, y, mean, rstd, cols, eps], rows, threads, { writes: [4, 5, 6] });
  else runThreaded('layernormRows', [x, gamma, beta, y, mean, rstd, cols, eps], rows, threads, { writes: [3, 4, 5] });
  return { y, mean, rstd };
}

/**
 * Rows [r0, r1) of the layernorm forward. A row's sums (Σx, Σ(x − mean)²) are four f64 partial sums, s_k over the
 * columns j ≡ k (mod 4), added as (s0 + s2) + (s1 + s3): the order the SIMD kernel's lanes give (wasm-layernorm.ts),
 * so both compute the same bits. SELF-CONTAINED: a pool worker runs its source text (see pool.ts).
 */
export function layernormRows(
  x: FloatArray, gamma: FloatArray, beta: FloatArray, y: FloatArray, mean: FloatArray, rstd: FloatArray,
  cols: number, eps: number, r0: number, r1: number,
): void {
  const whole = cols - (cols & 3);
  for (let r = r0; r < r1; r++) {
    const o = r * cols;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let j = 0; j < whole; j += 4) { s0 += x[o + j]; s1 += x[o + j + 1]; s2 += x[o + j + 2]; s3 += x[o + j + 3]; }
    if (whole < cols) s0 += x[o + whole];
    if (whole + 1 < cols) s1 += x[o + whole + 1];
    if (whole + 2 < cols) s2 += x[o + whole + 2];
    const mu = ((s0 + s2) + (s1 + s3)) / cols;
    s0 = 0; s1 = 0; s2 = 0; s3 = 0;
    for (let j = 0; j < whole; j += 4) {
      const a = x[o + j] - mu, b = x[o + j + 1] - mu, c = x[o + j + 2] - mu, d = x[o + j + 3] - mu;
      s0 += a * a; s1 += b * b; s2 += c * c; s3 += d * d;
    }
    if (whole < cols) { const a = x[o + whole] - mu; s0 += a * a; }
    if (whole + 1 < cols) { const b = x[o + whole + 1] - mu; s1 += b * b; }
    if (whole + 2 < cols) { const c = x[o + whole + 2] - mu; s2 += c * c; }
    const rs = 1 / Math.sqrt(((s0 + s2) + (s1 + s3)) / cols + eps);
    for (let j = 0; j < cols; j++) y[o + j] = (x[o + j] - mu) * rs * gamma[j] + beta[j];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

/**
 * Backward of layernorm, g = dL/dy (rows, cols); only the requested gradients are computed:
 *   xhat = (x − mean)·rstd, dxhat = g·gamma
 *   dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat))      (rows, cols)
 *   dgamma = Σ_rows g·xhat, dbeta = Σ_rows g                       (cols)
 */
export function layernormBackward(
  x: FloatArray, g: FloatArray, gamma: FloatArray, mean: FloatArray, rstd: FloatArray, rows: number, cols: number,
  dtype: FloatDType, need: { dx: boolean; dgamma: boolean; dbeta: boolean },
): { dx?: FloatArray; dgamma?: FloatArray; dbeta?: FloatArray } {
  const threads = need.dx ? threadsFor(4 * rows * cols) : 1;
  const dx = need.dx ? (threads > 1 ? sharedFloatArray : floatArray)(dtype, rows * cols, false) : undefined; // all written
  const wasm = simdRows(dtype, cols);
  if (dx && wasm !== null) runThreaded('layernormDxRowsF32x4', [wasm, x, g, gamma, mean, rstd, dx, cols], rows, threads, { writes: [6] });
  else if (dx) runThreaded('layernormDxRows', [x, g, gamma, mean, rstd, dx, cols], rows, threads, { writes: [5] });
  // column sums in f64 whatever the dtype, rows in order for every column: split on columns, so the bits do not
  // depend on the thread count
  const sumThreads = need.dgamma || need.dbeta ? threadsFor(4 * rows * cols) : 1;
  const columns = (on: boolean) => (on ? (sumThreads > 1 ? new Float64Array(new SharedArrayBuffer(8 * cols)) : new Float64Array(cols)) : null);
  const dgamma = columns(need.dgamma);
  const dbeta = columns(need.dbeta);
  if (dgamma || dbeta) {
    const pg = simdModule(dtype);
    const writes = dgamma && dbeta ? [4, 5] : [dgamma ? 4 : 5];
    if (pg !== null) runThreaded('layernormParamGradColumnsF32x4', [pg, x, g, mean, rstd, dgamma, dbeta, rows, cols], cols, sumThreads, { writes: writes.map((w) => w + 1) });
    else runThreaded('layernormParamGradColumns', [x, g, mean, rstd, dgamma, dbeta, rows, cols], cols, sumThreads, { writes });
  }
  const result: { dx?: FloatArray; dgamma?: FloatArray; dbeta?: FloatArray } = {};
  if (dx) result.dx = dx;
  if (dgamma) result.dgamma = toDtype(dgamma, dtype);
  if (dbeta) result.dbeta = toDtype(dbeta, dtype);
  return result;
}

/**
 * Columns [c0, c1) of dgamma = Σ_rows g·(x − mean)·rstd and dbeta = Σ_rows g (either may be null), in f64.
 * SELF-CONTAINED: a pool worker runs its source text (see pool.ts).
 */
export function layernormParamGradColumns(
  x: FloatArray, g: FloatArray, mean: FloatArray, rstd: FloatArray, dgamma: Float64Array | null, dbeta: Float64Array | null,
  rows: number, cols: number, c0: number, c1: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const mu = mean[r];
    const rs = rstd[r];
    if (dgamma) for (let j = c0; j < c1; j++) dgamma[j] += g[o + j] * (x[o + j] - mu) * rs;
    if (dbeta) for (let j = c0; j < c1; j++) dbeta[j] += g[o + j];
  }
}

/**
 * Rows [r0, r1) of the layernorm input gradient; the row sums in layernormRows' order (four partials, j mod 4).
 * SELF-CONTAINED: a pool worker runs its source text (see pool.ts).
 */
export function layernormDxRows(
  x: FloatArray, g: FloatArray, gamma: FloatArray, mean: FloatArray, rstd: FloatArray, dx: FloatArray,
  cols: number, r0: number, r1: number,
): void {
  const d = new Float64Array(4), e = new Float64Array(4);
  for (let r = r0; r < r1; r++) {
    const o = r * cols;
    const mu = mean[r];
    const rs = rstd[r];
    // partial k sums the columns j ≡ k (mod 4); d: Σ dxhat, e: Σ dxhat·xhat
    d.fill(0);
    e.fill(0);
    for (let j = 0; j < cols; j++) {
      const xhat = (x[o + j] - mu) * rs;
      const dxhat = g[o + j] * gamma[j];
      d[j & 3] += dxhat;
      e[j & 3] += dxhat * xhat;
    }
    const meanD = ((d[0] + d[2]) + (d[1] + d[3])) / cols;
    const meanDX = ((e[0] + e[2]) + (e[1] + e[3])) / cols;
    for (let j = 0; j < cols; j++) {
      const xhat = (x[o + j] - mu) * rs;
      dx[o + j] = rs * (g[o + j] * gamma[j] - meanD - xhat * meanDX);
    }
  }
}

function toDtype(acc: Float64Array, dtype: FloatDType): FloatArray {
  if (dtype === 'f64') return acc;
  const out = floatArray(dtype, acc.length, false);
  out.set(acc);
  return out;
}
