import type { FloatDType } from '../../autograd/dtype.js';
import { type Shape, broadcastStrides, numel, stridesOf } from '../../autograd/shape.js';
import { type FloatArray, floatArray } from './storage.js';
import { coalesce, forEachRow } from './strided.js';

/** out (outShape) = cond ≠ 0 ? a : b, all three broadcast to outShape. */
export function where(
  cond: FloatArray, cShape: Shape, a: FloatArray, aShape: Shape, b: FloatArray, bShape: Shape, outShape: Shape,
  dtype: FloatDType,
): FloatArray {
  const out = floatArray(dtype, numel(outShape), false); // every element is written
  if (out.length === 0) return out;
  const space = coalesce(outShape, [
    stridesOf(outShape), broadcastStrides(cShape, outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape),
  ]);
  const last = space.shape.length - 1;
  const len = space.shape[last];
  const [sc, sa, sb] = [space.strides[1][last], space.strides[2][last], space.strides[3][last]];
  forEachRow(space, ([o, ic, ia, ib]) => {
    for (let j = 0; j < len; j++) out[o + j] = cond[ic + j * sc] !== 0 ? a[ia + j * sa] : b[ib + j * sb];
  });
  return out;
}
