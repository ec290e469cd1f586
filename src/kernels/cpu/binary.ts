import { BackendError, type BinaryOp } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { type Shape, broadcastStrides, numel, sameShape, stridesOf } from '../../autograd/shape.js';
import { cpuMatmulKernel } from './matmul.js';
import { binaryRow } from './pointwise.js';
import { runThreaded, threadsFor } from './pool.js';
import { type FloatArray, floatArray } from './storage.js';
import { coalesce, forEachRow } from './strided.js';
import { binaryWasm, SIMD_BINARY } from './wasm-binary.js';

/** Work per element of each op for the thread split (unary.ts says the unit); the GELU derivatives cost the most. */
const BINARY_COST: Record<BinaryOp, number> = {
  add: 2, sub: 2, mul: 2, div: 4, pow: 32, maximum: 2, minimum: 2, eq: 2, gt: 2, lt: 2,
  relu_grad: 2, gelu_tanh_grad: 24, gelu_erf_grad: 32, tanh_grad: 2, sigmoid_grad: 2,
};

/**
 * out (outShape) = op(a, b) with a and b broadcast to outShape (NumPy rules, stride 0 on broadcast dims).
 * Equal shapes run as one flat range, a scalar operand as one range with stride 0, a space that coalesces to
 * (rows, len) (e.g. (B, T, D) + (D)) by rows — each of those split across the pool's threads when big enough;
 * anything else is coalesced and run row by row on this thread. In f32, add/sub/mul/div over the first three layouts
 * and a row broadcast to every row run in WebAssembly SIMD (wasm-binary.ts: the same bits) where the f32 kernels do.
 */
export function binary(
  op: BinaryOp, a: FloatArray, aShape: Shape, b: FloatArray, bShape: Shape, outShape: Shape, dtype: FloatDType,
): FloatArray {
  if (!Object.hasOwn(BINARY_COST, op)) throw new BackendError(`cpu binary: unknown op '${op as string}'`);
  const n = numel(outShape);
  const out = floatArray(dtype, n, false); // every element is written
  if (n === 0) return out;
  const threads = threadsFor(BINARY_COST[op] * n);
  const aN = numel(aShape);
  const bN = numel(bShape);
  const code = SIMD_BINARY[op];
  const wasm = dtype === 'f32' && code !== undefined && cpuMatmulKernel() === 'wasm-simd' ? binaryWasm() : null;
  const flat = (sa: number, sb: number): void => {
    if (wasm !== null) runThreaded('binaryFlatF32x4', [wasm, code, out, a, sa, b, sb], n, threads, { writes: [2] });
    else runThreaded('binaryFlat', [op, out, a, sa, b, sb], n, threads, { writes: [1] });
  };
  if (sameShape(aShape, outShape) && sameShape(bShape, outShape)) {
    flat(1, 1);
  } else if (aN === n && bN === 1 && sameShape(aShape, outShape)) {
    flat(1, 0);
  } else if (bN === n && aN === 1 && sameShape(bShape, outShape)) {
    flat(0, 1);
  } else {
    const space = coalesce(outShape, [stridesOf(outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
    const last = space.shape.length - 1;
    const len = space.shape[last];
    const sa = space.strides[1][last];
    const sb = space.strides[2][last];
    if (last <= 1) {
      const rows = last === 1 ? space.shape[0] : 1;
      const [ra, rb] = last === 1 ? [space.strides[1][0], space.strides[2][0]] : [0, 0];
      const rowA = ra === 0 && rb === len, rowB = ra === len && rb === 0; // one operand a row, broadcast to every row
      if (wasm !== null && last === 1 && sa === 1 && sb === 1 && (rowA || rowB)) {
        runThreaded('binaryRowBroadcastF32x4', [wasm, code, out, a, b, rowA, len], rows, threads, { writes: [2] });
      } else {
        runThreaded('binaryRows', [op, out, a, ra, sa, b, rb, sb, len], rows, threads, { writes: [1] });
      }
    } else {
      forEachRow(space, (off) => binaryRow(op, out, off[0], a, off[1], sa, b, off[2], sb, len));
    }
  }
  return out;
}
