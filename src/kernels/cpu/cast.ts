import type { DType, TypedArray } from '../../autograd/dtype.js';
import { storageArray } from './storage.js';

/**
 * Converts n elements from one dtype to another: floats to i32 truncate toward zero (NaN → 0, wrapping modulo
 * 2³² outside the i32 range, as Int32Array stores); f64 to f32 rounds to nearest; i32 to floats is exact.
 */
export function cast(x: TypedArray, n: number, to: DType): TypedArray {
  const out = storageArray(to, n);
  if (n === x.length) out.set(x);
  else out.set(x.subarray(0, n));
  return out;
}
