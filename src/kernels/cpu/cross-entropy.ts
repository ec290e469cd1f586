import { BackendError } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { type FloatArray, floatArray } from './storage.js';

function checkTarget(kernel: string, t: number, r: number, cols: number, ignoreIndex: number): void {
  if (!(t >= 0 && t < cols)) {
    throw new BackendError(`cpu ${kernel}: target ${t} of row ${r} is outside [0, ${cols}) and is not the ignore index ${ignoreIndex}`);
  }
}

/**
 * The row max m and log Σ exp(logits[row] − m); callers form (x − m) − logSum, never m + logSum, which would
 * round at the magnitude of m.
 */
function rowLogSumExp(x: FloatArray, o: number, cols: number): { m: number; logSum: number } {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
  let sum = 0;
  for (let j = 0; j < cols; j++) sum += Math.exp(x[o + j] - m);
  return { m, logSum: Math.log(sum) };
}

/**
 * Per-row cross-entropy of logits (rows, cols) against targets (rows) i32:
 * loss[r] = logsumexp(logits[r]) − logits[r, t]; rows with t = ignoreIndex get loss 0 and valid 0, others valid 1.
 */
export function crossEntropy(
  logits: FloatArray, targets: Int32Array, rows: number, cols: number, ignoreIndex: number, dtype: FloatDType,
): { loss: FloatArray; valid: FloatArray } {
  const loss = floatArray(dtype, rows);
  const valid = floatArray(dtype, rows);
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === ignoreIndex) continue;
    checkTarget('crossEntropy', t, r, cols, ignoreIndex);
    const o = r * cols;
    const { m, logSum } = rowLogSumExp(logits, o, cols);
    loss[r] = logSum - (logits[o + t] - m);
    valid[r] = 1;
  }
  return { loss, valid };
}

/** dlogits[r] = g[r]·(softmax(logits[r]) − onehot(t)), zero on ignored rows. */
export function crossEntropyBackward(
  logits: FloatArray, targets: Int32Array, g: FloatArray, rows: number, cols: number, ignoreIndex: number,
  dtype: FloatDType,
): FloatArray {
  const out = floatArray(dtype, rows * cols);
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === ignoreIndex) continue;
    checkTarget('crossEntropyBackward', t, r, cols, ignoreIndex);
    const o = r * cols;
    const { m, logSum } = rowLogSumExp(logits, o, cols);
    const gr = g[r];
    for (let j = 0; j < cols; j++) out[o + j] = gr * Math.exp(logits[o + j] - m - logSum);
    out[o + t] -= gr;
  }
  return out;
}
