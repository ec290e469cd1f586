import type { FloatDType } from '../../autograd/dtype.js';
import { runThreaded, threadsFor } from './pool.js';
import { type FloatArray, floatArray, sharedFloatArray } from './storage.js';

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
  runThreaded('layernormRows', [x, gamma, beta, y, mean, rstd, cols, eps], rows, threads, { writes: [3, 4, 5] });
  return { y, mean, rstd };
}

/** Rows [r0, r1) of the layernorm forward. SELF-CONTAINED: a pool worker runs its source text (see pool.ts). */
export function layernormRows(
  x: FloatArray, gamma: FloatArray, beta: FloatArray, y: FloatArray, mean: FloatArray, rstd: FloatArray,
  cols: number, eps: number, r0: number, r1: number,
): void {
  for (let r = r0; r < r1; r++) {
    const o = r * cols;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += x[o + j];
    const mu = sum / cols;
    let sq = 0;
    for (let j = 0; j < cols; j++) { const d = x[o + j] - mu; sq += d * d; }
    const rs = 1 / Math.sqrt(sq / cols + eps);
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
  if (dx) runThreaded('layernormDxRows', [x, g, gamma, mean, rstd, dx, cols], rows, threads, { writes: [5] });
  // column sums in f64 whatever the dtype, rows in order for every column: split on columns, so the bits do not
  // depend on the thread count
  const sumThreads = need.dgamma || need.dbeta ? threadsFor(4 * rows * cols) : 1;
  const columns = (on: boolean) => (on ? (sumThreads > 1 ? new Float64Array(new SharedArrayBuffer(8 * cols)) : new Float64Array(cols)) : null);
  const dgamma = columns(need.dgamma);
  const dbeta = columns(need.dbeta);
  if (dgamma || dbeta) {
    runThreaded('layernormParamGradColumns', [x, g, mean, rstd, dgamma, dbeta, rows, cols], cols, sumThreads,
      { writes: dgamma && dbeta ? [4, 5] : [dgamma ? 4 : 5] });
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

/** Rows [r0, r1) of the layernorm input gradient. SELF-CONTAINED: a pool worker runs its source text (see pool.ts). */
export function layernormDxRows(
  x: FloatArray, g: FloatArray, gamma: FloatArray, mean: FloatArray, rstd: FloatArray, dx: FloatArray,
  cols: number, r0: number, r1: number,
): void {
  for (let r = r0; r < r1; r++) {
    const o = r * cols;
    const mu = mean[r];
    const rs = rstd[r];
    let sumD = 0;
    let sumDX = 0;
    for (let j = 0; j < cols; j++) {
      const xhat = (x[o + j] - mu) * rs;
      const dxhat = g[o + j] * gamma[j];
      sumD += dxhat;
      sumDX += dxhat * xhat;
    }
    const meanD = sumD / cols;
    const meanDX = sumDX / cols;
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
