/** linear: out (rows, N) = x (rows, K) @ op(W) + bias — the matmul kernel, then the bias added in place. */
import type { LinearParams } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { matmul } from './matmul.js';
import type { FloatArray } from './storage.js';

export function linear(x: FloatArray, w: FloatArray, bias: FloatArray, p: LinearParams, dtype: FloatDType): FloatArray {
  const { rows, K, N, transW } = p;
  const out = matmul(x, w, { batchA: [], batchB: [], batchOut: [], M: rows, K, N, transA: false, transB: transW }, dtype);
  for (let r = 0; r < rows; r++) {
    const row = r * N;
    for (let n = 0; n < N; n++) out[row + n] += bias[n];
  }
  return out;
}
