import type { FloatDType } from '../../autograd/dtype.js';
import { runThreaded, threadsFor } from './pool.js';
import { type FloatArray, floatArray, sharedFloatArray } from './storage.js';

/**
 * Softmax (or log-softmax) over the last axis of x (rows, cols), shifted by the row max so exp never overflows:
 * softmax = exp(x − m) / Σ exp(x − m); log_softmax = (x − m) − log Σ exp(x − m). A row that is all −∞ gives NaN,
 * as in PyTorch.
 */
export function softmax(x: FloatArray, rows: number, cols: number, dtype: FloatDType, log: boolean): FloatArray {
  const threads = threadsFor(8 * rows * cols);
  const out = (threads > 1 ? sharedFloatArray : floatArray)(dtype, rows * cols, false); // every element is written
  runThreaded('softmaxRows', [x, out, cols, log], rows, threads, { writes: [1] });
  return out;
}

/** Rows [r0, r1) of softmax / log-softmax. SELF-CONTAINED: a pool worker runs its source text (see pool.ts). */
export function softmaxRows(x: FloatArray, out: FloatArray, cols: number, log: boolean, r0: number, r1: number): void {
  for (let r = r0; r < r1; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
    let sum = 0;
    if (log) {
      for (let j = 0; j < cols; j++) sum += Math.exp(x[o + j] - m);
      const logSum = Math.log(sum);
      for (let j = 0; j < cols; j++) out[o + j] = x[o + j] - m - logSum; // (x − m) first: exact for nearby x
    } else {
      for (let j = 0; j < cols; j++) { const e = Math.exp(x[o + j] - m); out[o + j] = e; sum += e; }
      const inv = 1 / sum;
      for (let j = 0; j < cols; j++) out[o + j] *= inv;
    }
  }
}
