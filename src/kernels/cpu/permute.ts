import { BackendError } from '../../autograd/backend.js';
import type { DType, TypedArray } from '../../autograd/dtype.js';
import { type Shape, fmt, numel, stridesOf } from '../../autograd/shape.js';
import { storageArray } from './storage.js';
import { copyStrided } from './strided.js';

/** out = x with axes permuted: out.shape[i] = shape[perm[i]]; out is contiguous. */
export function permute(x: TypedArray, shape: Shape, perm: readonly number[], dtype: DType): TypedArray {
  const rank = shape.length;
  if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    throw new BackendError(`cpu permute: [${perm.join(', ')}] is not a permutation of the axes of ${fmt(shape)}`);
  }
  const inStrides = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  const out = storageArray(dtype, numel(shape), false); // every element is written
  if (out.length === 0) return out;
  // out[i0, i1, …] = x[… i_k at axis perm[k] …]: walk out in order, reading x with its strides permuted.
  copyStrided(x, 0, perm.map((p) => inStrides[p]), out, 0, stridesOf(outShape), outShape);
  return out;
}
