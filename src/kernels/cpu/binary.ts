import { BackendError, type BinaryOp } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { type Shape, broadcastStrides, numel, sameShape, stridesOf } from '../../autograd/shape.js';
import { type FloatArray, floatArray } from './storage.js';
import { coalesce, forEachRow } from './strided.js';
import { geluErfGrad, geluErfGradF32, geluTanhGrad } from './unary.js';

/**
 * out (outShape) = op(a, b) with a and b broadcast to outShape (NumPy rules, stride 0 on broadcast dims).
 * Equal shapes run as one flat loop, a scalar operand as one loop with stride 0; anything else is coalesced
 * (e.g. (B, T, D) + (D) → rows of D) and run row by row.
 */
export function binary(
  op: BinaryOp, a: FloatArray, aShape: Shape, b: FloatArray, bShape: Shape, outShape: Shape, dtype: FloatDType,
): FloatArray {
  const n = numel(outShape);
  const out = floatArray(dtype, n);
  if (n === 0) return out;
  const aN = numel(aShape);
  const bN = numel(bShape);
  if (sameShape(aShape, outShape) && sameShape(bShape, outShape)) {
    binaryRow(op, out, 0, a, 0, 1, b, 0, 1, n);
  } else if (aN === n && bN === 1 && sameShape(aShape, outShape)) {
    binaryRow(op, out, 0, a, 0, 1, b, 0, 0, n);
  } else if (bN === n && aN === 1 && sameShape(bShape, outShape)) {
    binaryRow(op, out, 0, a, 0, 0, b, 0, 1, n);
  } else {
    const space = coalesce(outShape, [stridesOf(outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
    const last = space.shape.length - 1;
    const len = space.shape[last];
    const sa = space.strides[1][last];
    const sb = space.strides[2][last];
    forEachRow(space, (off) => binaryRow(op, out, off[0], a, off[1], sa, b, off[2], sb, len));
  }
  return out;
}

/** One contiguous output row: out[o + j] = op(a[ia + j·sa], b[ib + j·sb]) for j < len. */
function binaryRow(
  op: BinaryOp, out: FloatArray, o: number, a: FloatArray, ia: number, sa: number, b: FloatArray, ib: number, sb: number,
  len: number,
): void {
  switch (op) {
    case 'add': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] + b[ib + j * sb]; break;
    case 'sub': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] - b[ib + j * sb]; break;
    case 'mul': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] * b[ib + j * sb]; break;
    case 'div': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] / b[ib + j * sb]; break;
    case 'pow': for (let j = 0; j < len; j++) out[o + j] = Math.pow(a[ia + j * sa], b[ib + j * sb]); break;
    case 'maximum': for (let j = 0; j < len; j++) out[o + j] = Math.max(a[ia + j * sa], b[ib + j * sb]); break;
    case 'minimum': for (let j = 0; j < len; j++) out[o + j] = Math.min(a[ia + j * sa], b[ib + j * sb]); break;
    case 'eq': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] === b[ib + j * sb] ? 1 : 0; break;
    case 'gt': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] > b[ib + j * sb] ? 1 : 0; break;
    case 'lt': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] < b[ib + j * sb] ? 1 : 0; break;
    // gradient helpers: a is the saved forward value (x or y), b the incoming gradient g
    case 'relu_grad': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] > 0 ? b[ib + j * sb] : 0; break;
    case 'gelu_tanh_grad': for (let j = 0; j < len; j++) out[o + j] = b[ib + j * sb] * geluTanhGrad(a[ia + j * sa]); break;
    case 'gelu_erf_grad':
      // f32: the one-exp form, within 1 f32 ulp of the f64 form (unary.ts)
      if (out instanceof Float32Array) for (let j = 0; j < len; j++) out[o + j] = b[ib + j * sb] * geluErfGradF32(a[ia + j * sa]);
      else for (let j = 0; j < len; j++) out[o + j] = b[ib + j * sb] * geluErfGrad(a[ia + j * sa]);
      break;
    case 'tanh_grad':
      for (let j = 0; j < len; j++) { const y = a[ia + j * sa]; out[o + j] = b[ib + j * sb] * (1 - y * y); }
      break;
    case 'sigmoid_grad':
      for (let j = 0; j < len; j++) { const y = a[ia + j * sa]; out[o + j] = b[ib + j * sb] * y * (1 - y); }
      break;
    default: throw new BackendError(`cpu binary: unknown op '${op as string}'`);
  }
}
