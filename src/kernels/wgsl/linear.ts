/** linear: out (rows, N) = x (rows, K) @ op(W) + bias — the matmul kernel with the bias added in its store. */
import type { LinearParams } from '../../autograd/backend.js';
import { matmul, type MatmulKernel } from './matmul.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';

export function linear(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, bias: GpuStorage, p: LinearParams,
  kernel: MatmulKernel): GpuStorage {
  const { rows, K, N, transW } = p;
  return matmul(rt, x, w, { batchA: [], batchB: [], batchOut: [], M: rows, K, N, transA: false, transB: transW }, kernel, bias);
}
