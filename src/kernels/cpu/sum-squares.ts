/** sum_squares: Σ x² over all of x, one pass (the gradient norm's per-tensor term, without a squared copy). */
import type { FloatDType } from '../../autograd/dtype.js';
import { type FloatArray, floatArray } from './storage.js';

export function sumSquares(x: FloatArray, n: number, dtype: FloatDType): FloatArray {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += x[i] * x[i];
  const out = floatArray(dtype, 1);
  out[0] = acc;
  return out;
}
