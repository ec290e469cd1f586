import type { ReduceOp } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { type Shape, numel, stridesOf } from '../../autograd/shape.js';
import { type FloatArray, floatArray } from './storage.js';
import { coalesce, forEachRow } from './strided.js';

/**
 * Sum or max of x (shape) over `axes`; the output has `shape` with those axes set to 1 (same element order).
 * Walks x once in memory order, accumulating in f64 into the output position of each element (stride 0 on the
 * reduced axes). Max propagates NaN as torch.max does; an empty max is −∞, an empty sum 0.
 */
export function reduce(op: ReduceOp, x: FloatArray, shape: Shape, axes: readonly number[], dtype: FloatDType): FloatArray {
  const reduced = new Set(axes.map((a) => (a < 0 ? a + shape.length : a)));
  const outShape = shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const outStrides = stridesOf(outShape).map((s, i) => (reduced.has(i) ? 0 : s));
  const acc = new Float64Array(numel(outShape)).fill(op === 'max' ? -Infinity : 0);
  const space = coalesce(shape, [stridesOf(shape), outStrides]);
  const last = space.shape.length - 1;
  const len = space.shape[last];
  const so = space.strides[1][last];
  forEachRow(space, ([ix, io]) => {
    if (op === 'sum') {
      if (so === 0) {
        let s = 0;
        for (let j = 0; j < len; j++) s += x[ix + j];
        acc[io] += s;
      } else {
        for (let j = 0; j < len; j++) acc[io + j * so] += x[ix + j];
      }
    } else if (so === 0) {
      let m = acc[io];
      for (let j = 0; j < len; j++) { const v = x[ix + j]; if (v > m || v !== v) m = v; }
      acc[io] = m;
    } else {
      for (let j = 0; j < len; j++) {
        const v = x[ix + j];
        const k = io + j * so;
        if (v > acc[k] || v !== v) acc[k] = v;
      }
    }
  });
  if (dtype === 'f64') return acc;
  const out = floatArray(dtype, acc.length);
  out.set(acc);
  return out;
}
