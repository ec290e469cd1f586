import type { ReduceOp } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { type Shape, numel, stridesOf } from '../../autograd/shape.js';
import { cpuMatmulKernel } from './matmul.js';
import { runThreaded, threadsFor } from './pool.js';
import { type FloatArray, floatArray } from './storage.js';
import { coalesce, forEachRow } from './strided.js';
import { sumsWasm } from './wasm-sums.js';

/**
 * Sum or max of x (shape) over `axes`; the output has `shape` with those axes set to 1 (same element order).
 * Walks x once in memory order, accumulating in f64 into the output position of each element (stride 0 on the
 * reduced axes). Max propagates NaN as torch.max does; an empty max is −∞, an empty sum 0. A sum whose space
 * coalesces to (rows, len) is split across the pool's threads on its outputs, in the same order; in f32 its column
 * sums run in WebAssembly SIMD (wasm-sums.ts, the same additions in the same order).
 */
export function reduce(op: ReduceOp, x: FloatArray, shape: Shape, axes: readonly number[], dtype: FloatDType): FloatArray {
  const reduced = new Set(axes.map((a) => (a < 0 ? a + shape.length : a)));
  const outShape = shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const outStrides = stridesOf(outShape).map((s, i) => (reduced.has(i) ? 0 : s));
  const space = coalesce(shape, [stridesOf(shape), outStrides]);
  const last = space.shape.length - 1;
  const len = space.shape[last];
  const so = space.strides[1][last];
  const threads = op === 'sum' && last === 1 ? threadsFor(numel(shape)) : 1;
  // f32 column sums (bias gradients) in WebAssembly SIMD where the f32 kernels use it: the same bits as sumColumns
  const wasm = op === 'sum' && last === 1 && so !== 0 && dtype === 'f32' && cpuMatmulKernel() === 'wasm-simd' ? sumsWasm() : null;
  if (wasm !== null) {
    const rows = space.shape[0];
    const sums = threads > 1 ? new Float64Array(new SharedArrayBuffer(8 * len)) : new Float64Array(len);
    runThreaded('sumColumnsF32x4', [wasm, x, sums, rows, len], len, threads, { writes: [2] });
    return toDtype(sums, dtype);
  }
  if (threads > 1) {
    // (rows, len) summed over rows (so = 1: a bias gradient) or over len (so = 0): split on the outputs
    const rows = space.shape[0];
    const sums = new Float64Array(new SharedArrayBuffer(8 * (so === 0 ? rows : len)));
    runThreaded(so === 0 ? 'sumRows' : 'sumColumns', [x, sums, rows, len], so === 0 ? rows : len, threads, { writes: [1] });
    return toDtype(sums, dtype);
  }
  const acc = new Float64Array(numel(outShape)).fill(op === 'max' ? -Infinity : 0);
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
  return toDtype(acc, dtype);
}

function toDtype(acc: Float64Array, dtype: FloatDType): FloatArray {
  if (dtype === 'f64') return acc;
  const out = floatArray(dtype, acc.length, false);
  out.set(acc);
  return out;
}

/**
 * Pool kernel: sums[c] = Σ_r x[r·len + c] for columns c in [c0, c1), in f64, rows in order — the same additions in
 * the same order as reduce's one-thread walk, so any split gives the same bits.
 */
export function sumColumns(x: Float32Array | Float64Array, sums: Float64Array, rows: number, len: number, c0: number, c1: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * len;
    for (let c = c0; c < c1; c++) sums[c] += x[o + c];
  }
}

/** Pool kernel: sums[r] = Σ_j x[r·len + j] for rows r in [r0, r1), in f64 (reduce's one-thread order again). */
export function sumRows(x: Float32Array | Float64Array, sums: Float64Array, rows: number, len: number, r0: number, r1: number): void {
  for (let r = r0; r < r1; r++) {
    const o = r * len;
    let s = 0;
    for (let j = 0; j < len; j++) s += x[o + j];
    sums[r] += s;
  }
}
