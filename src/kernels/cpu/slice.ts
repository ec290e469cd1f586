import { BackendError } from '../../autograd/backend.js';
import type { DType, TypedArray } from '../../autograd/dtype.js';
import { storageArray } from './storage.js';
import { type Shape, fmt, numel, stridesOf } from '../../autograd/shape.js';
import { copyStrided } from './strided.js';

function checkRegion(kernel: string, outer: Shape, begin: readonly number[], size: readonly number[]): void {
  const ok = begin.length === outer.length && size.length === outer.length &&
    outer.every((d, i) => begin[i] >= 0 && size[i] >= 0 && begin[i] + size[i] <= d);
  if (!ok) {
    throw new BackendError(`cpu ${kernel}: region begin [${begin.join(', ')}] size [${size.join(', ')}] does not fit in ${fmt(outer)}`);
  }
}

function offsetOf(begin: readonly number[], strides: readonly number[]): number {
  let off = 0;
  for (let i = 0; i < begin.length; i++) off += begin[i] * strides[i];
  return off;
}

/** out (size) = x[begin : begin + size] along every axis. */
export function slice(x: TypedArray, shape: Shape, begin: readonly number[], size: readonly number[], dtype: DType): TypedArray {
  checkRegion('slice', shape, begin, size);
  const out = storageArray(dtype, numel(size), false); // every element is written
  if (out.length === 0) return out;
  const strides = stridesOf(shape);
  copyStrided(x, offsetOf(begin, strides), strides, out, 0, stridesOf(size), size);
  return out;
}

/** In place: dst[begin + i] = src[i] for every index i of srcShape. */
export function writeRegion(dst: TypedArray, dstShape: Shape, src: TypedArray, srcShape: Shape, begin: readonly number[]): void {
  checkRegion('writeRegion', dstShape, begin, srcShape);
  if (numel(srcShape) === 0) return;
  const strides = stridesOf(dstShape);
  copyStrided(src, 0, stridesOf(srcShape), dst, offsetOf(begin, strides), strides, srcShape);
}
