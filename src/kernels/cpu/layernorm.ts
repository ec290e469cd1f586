import type { FloatDType } from '../../autograd/dtype.js';
import { type FloatArray, floatArray } from './storage.js';

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
  const y = floatArray(dtype, rows * cols);
  const mean = floatArray(dtype, rows);
  const rstd = floatArray(dtype, rows);
  for (let r = 0; r < rows; r++) {
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
  return { y, mean, rstd };
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
  const dx = need.dx ? floatArray(dtype, rows * cols) : undefined;
  // column sums in f64 whatever the dtype: they run over every row of the batch
  const dgamma = need.dgamma ? new Float64Array(cols) : undefined;
  const dbeta = need.dbeta ? new Float64Array(cols) : undefined;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const mu = mean[r];
    const rs = rstd[r];
    if (dx) {
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
    if (dgamma) for (let j = 0; j < cols; j++) dgamma[j] += g[o + j] * (x[o + j] - mu) * rs;
    if (dbeta) for (let j = 0; j < cols; j++) dbeta[j] += g[o + j];
  }
  const result: { dx?: FloatArray; dgamma?: FloatArray; dbeta?: FloatArray } = {};
  if (dx) result.dx = dx;
  if (dgamma) result.dgamma = toDtype(dgamma, dtype);
  if (dbeta) result.dbeta = toDtype(dbeta, dtype);
  return result;
}

function toDtype(acc: Float64Array, dtype: FloatDType): FloatArray {
  if (dtype === 'f64') return acc;
  const out = floatArray(dtype, acc.length);
  out.set(acc);
  return out;
}
