/** permute: out.shape[i] = shape[perm[i]], a strided gather (no transpose kernel of its own). */
import { stridesOf, type Shape } from '../../autograd/shape.js';
import { stridedCopy } from './layout.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';

export function permute(rt: GpuRuntime, x: GpuStorage, shape: Shape, perm: readonly number[]): GpuStorage {
  const inStrides = stridesOf(shape);
  return stridedCopy(rt, 'gather', x, null, perm.map((p) => shape[p]), perm.map((p) => inStrides[p]), 0);
}
