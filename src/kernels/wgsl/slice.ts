/** slice (a strided gather) and writeRegion (the matching scatter, in place into dst). */
import { stridesOf, type Shape } from '../../autograd/shape.js';
import { stridedCopy } from './layout.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';

function offsetOf(begin: readonly number[], strides: readonly number[]): number {
  return begin.reduce((acc, b, d) => acc + b * strides[d], 0);
}

/** out (size) = x (shape) [begin : begin + size] */
export function slice(rt: GpuRuntime, x: GpuStorage, shape: Shape, begin: readonly number[],
  size: readonly number[]): GpuStorage {
  const strides = stridesOf(shape);
  return stridedCopy(rt, 'gather', x, null, size, strides, offsetOf(begin, strides));
}

/** dst (dstShape) [begin : begin + srcShape] = src, in place. */
export function writeRegion(rt: GpuRuntime, dst: GpuStorage, dstShape: Shape, src: GpuStorage, srcShape: Shape,
  begin: readonly number[]): void {
  const strides = stridesOf(dstShape);
  stridedCopy(rt, 'scatter', src, dst, srcShape, strides, offsetOf(begin, strides));
}
