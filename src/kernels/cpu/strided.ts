import type { TypedArray } from '../../autograd/dtype.js';
import type { Shape } from '../../autograd/shape.js';
import { cpuMatmulKernel } from './matmul.js';
import { runThreaded, threadsFor } from './pool.js';
import { copyWasm } from './wasm-copy.js';

/**
 * Strided iteration shared by the broadcasting, layout and reduction kernels. An iteration space is a shape plus,
 * for each operand, the stride (in elements) it advances per step of each dim; broadcast dims have stride 0.
 */
export interface Strided {
  shape: number[];
  /** strides[k][d]: operand k's stride along dim d. */
  strides: number[][];
}

/**
 * Drops size-1 dims and merges neighbouring dims that every operand walks contiguously, so that e.g. a bias add
 * (B, T, D) + (D) becomes (B·T, D) and a same-shape op becomes one flat row. Rank 0 becomes a single element.
 */
export function coalesce(shape: Shape, strides: readonly (readonly number[])[]): Strided {
  const outShape: number[] = [];
  const outStrides = strides.map(() => [] as number[]);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d];
    if (size === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * size)) {
      outShape[last] *= size;
      for (let k = 0; k < strides.length; k++) outStrides[k][last] = strides[k][d];
    } else {
      outShape.push(size);
      for (let k = 0; k < strides.length; k++) outStrides[k].push(strides[k][d]);
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    for (const s of outStrides) s.push(0);
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Calls `row(offsets)` once per row (the last dim) of a coalesced iteration space; offsets[k] is the position of
 * the row's first element in operand k (the array is reused between calls). The caller walks the row itself with
 * the last-dim strides, which keeps the inner loop free of index arithmetic.
 */
export function forEachRow({ shape, strides }: Strided, row: (offsets: number[]) => void): void {
  const rank = shape.length;
  const operands = strides.length;
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= shape[d];
  if (rows === 0 || shape[rank - 1] === 0) return;
  const offsets = new Array<number>(operands).fill(0);
  const index = new Array<number>(rank).fill(0);
  for (let r = 0; r < rows; r++) {
    row(offsets);
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      for (let k = 0; k < operands; k++) offsets[k] += strides[k][d];
      if (index[d] < shape[d]) break;
      for (let k = 0; k < operands; k++) offsets[k] -= strides[k][d] * shape[d];
      index[d] = 0;
    }
  }
}

/** Below this many elements a copy stays in TypeScript (the module's call and two memcpys cost more than they save). */
const WASM_COPY_MIN = 2048;

/**
 * Whether copyStrided runs a coalesced copy of n elements as wasm-copy.ts's row gather: n ≥ WASM_COPY_MIN, the f32 kernels
 * in WebAssembly SIMD (cpuMatmulKernel), rank 2–4, contiguous rows on both sides, dst dense
 * in row-major order (so each chunk of the first dim is one dense block: written whole, never overlapping another
 * thread's), src strides ≥ 0 spanning at most twice the elements copied (it is copied in whole), 4-byte words.
 */
export function copiesInWasm(space: Strided, src: TypedArray, dst: TypedArray, n: number): boolean {
  const { shape, strides: [ds, ss] } = space;
  const rank = shape.length;
  if (n < WASM_COPY_MIN || cpuMatmulKernel() !== 'wasm-simd') return false;
  if (rank < 2 || rank > 4 || ds![rank - 1] !== 1 || ss![rank - 1] !== 1) return false;
  if (src.BYTES_PER_ELEMENT !== dst.BYTES_PER_ELEMENT || src.BYTES_PER_ELEMENT % 4 !== 0) return false;
  let dense = 1, span = 1;
  for (let d = rank - 1; d >= 0; d--) {
    if (ds![d] !== dense || ss![d]! < 0) return false;
    dense *= shape[d]!;
    span += (shape[d]! - 1) * ss![d]!;
  }
  return span <= 2 * n;
}

/**
 * Copies the elements of `shape`, read from src at srcStrides, written to dst at dstStrides (element units). A big
 * copy into a shared dst is split across the worker pool on the first dim of its coalesced space. Where the f32
 * kernels use WebAssembly SIMD, a copy into a dense dst with contiguous rows (permute, slice) runs in wasm-copy.ts.
 */
export function copyStrided(
  src: TypedArray, srcOffset: number, srcStrides: readonly number[],
  dst: TypedArray, dstOffset: number, dstStrides: readonly number[], shape: Shape,
): void {
  const space = coalesce(shape, [dstStrides, srcStrides]);
  let n = 1;
  for (const d of space.shape) n *= d;
  const wasm = copiesInWasm(space, src, dst, n) ? copyWasm() : null;
  if (wasm !== null) {
    runThreaded('copyRowsWasm', [wasm, src, srcOffset, dst, dstOffset, space.shape, space.strides[0], space.strides[1]],
      space.shape[0]!, threadsFor(6 * n), { writes: [3] });
    return;
  }
  runThreaded('copyCoalescedRange', [src, srcOffset, dst, dstOffset, space.shape, space.strides[0], space.strides[1]],
    space.shape[0]!, threadsFor(6 * n), { writes: [2] });
}

/**
 * Pool kernel: the copy of a coalesced space (shape, dst and src strides), indices [g0, g1) of its first dim. Calls
 * only forEachRow (a pool helper).
 */
export function copyCoalescedRange(
  src: TypedArray, srcOffset: number, dst: TypedArray, dstOffset: number,
  shape: readonly number[], dstStrides: readonly number[], srcStrides: readonly number[], g0: number, g1: number,
): void {
  const last = shape.length - 1;
  const len = shape[last]!;
  const ds = dstStrides[last]!;
  const ss = srcStrides[last]!;
  if (ds === 1 && ss === 1 && (last === 2 || last === 3)) {
    // contiguous rows of a rank-3 or rank-4 space (the attention heads' permutes, (B, T, H, D) ↔ (B, H, T, D)):
    // plain loops, no per-row callback — the rows are short (the head width)
    const n1 = shape[1]!, n2 = last === 3 ? shape[2]! : 1;
    const d1 = dstStrides[1]!, s1 = srcStrides[1]!, d2 = last === 3 ? dstStrides[2]! : 0, s2 = last === 3 ? srcStrides[2]! : 0;
    for (let i = g0; i < g1; i++) {
      const di = dstOffset + i * dstStrides[0]!, si = srcOffset + i * srcStrides[0]!;
      for (let a = 0; a < n1; a++) {
        for (let b = 0; b < n2; b++) {
          const d = di + a * d1 + b * d2, q = si + a * s1 + b * s2;
          for (let j = 0; j < len; j++) dst[d + j] = src[q + j]!;
        }
      }
    }
    return;
  }
  const sub = { shape: [g1 - g0, ...shape.slice(1)], strides: [dstStrides.slice(), srcStrides.slice()] };
  if (last === 0) sub.shape[0] = 1; // one row: [g0, g1) of it
  const rowLen = last === 0 ? g1 - g0 : len;
  const d00 = dstOffset + g0 * dstStrides[0]!;
  const s00 = srcOffset + g0 * srcStrides[0]!;
  forEachRow(sub, (off) => {
    const d0 = d00 + off[0]!;
    const s0 = s00 + off[1]!;
    if (ds === 1 && ss === 1 && last === 0) {
      dst.set(src.subarray(s0, s0 + rowLen), d0); // one contiguous run: a memcpy (the same bits, NaN payloads too)
    } else if (ds === 1 && ss === 1) {
      for (let j = 0; j < rowLen; j++) dst[d0 + j] = src[s0 + j]!;
    } else {
      for (let j = 0; j < rowLen; j++) dst[d0 + j * ds] = src[s0 + j * ss]!;
    }
  });
}
