/**
 * linear: out (rows, N) = x (rows, K) @ op(W) + bias — the matmul kernel with the bias added in its epilogue, while
 * each output tile is still in cache (the same values as a matmul then a bias add: the product is rounded to the
 * dtype first, then the bias is added and rounded).
 */
import type { LinearParams } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { matmul } from './matmul.js';
import type { FloatArray } from './storage.js';

export function linear(x: FloatArray, w: FloatArray, bias: FloatArray, p: LinearParams, dtype: FloatDType): FloatArray {
  const { rows, K, N, transW } = p;
  return matmul(x, w, { batchA: [], batchB: [], batchOut: [], M: rows, K, N, transA: false, transB: transW }, dtype, bias);
}
