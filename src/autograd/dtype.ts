/** Element types. `f64` exists on the CPU backend only (gradient checks); `i32` holds indices (token ids, targets). */
export type DType = 'f32' | 'f64' | 'i32';
export type FloatDType = 'f32' | 'f64';
export type TypedArray = Float32Array | Float64Array | Int32Array;

export function arrayFor(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'f32': return new Float32Array(n);
    case 'f64': return new Float64Array(n);
    case 'i32': return new Int32Array(n);
  }
}

export function toTypedArray(dtype: DType, data: ArrayLike<number>): TypedArray {
  const out = arrayFor(dtype, data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i];
  return out;
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'f64' ? 8 : 4;
}

/** Machine epsilon: the basis of every tolerance in the tests. */
export function epsilonOf(dtype: FloatDType): number {
  return dtype === 'f64' ? 2 ** -52 : 2 ** -23;
}
