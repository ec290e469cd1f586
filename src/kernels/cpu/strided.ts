import type { TypedArray } from '../../autograd/dtype.js';
import type { Shape } from '../../autograd/shape.js';

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

/** Copies the elements of `shape`, read from src at srcStrides, written to dst at dstStrides (element units). */
export function copyStrided(
  src: TypedArray, srcOffset: number, srcStrides: readonly number[],
  dst: TypedArray, dstOffset: number, dstStrides: readonly number[], shape: Shape,
): void {
  const space = coalesce(shape, [dstStrides, srcStrides]);
  const last = space.shape.length - 1;
  const len = space.shape[last];
  const ds = space.strides[0][last];
  const ss = space.strides[1][last];
  forEachRow(space, (off) => {
    const d0 = dstOffset + off[0];
    const s0 = srcOffset + off[1];
    if (ds === 1 && ss === 1) {
      for (let j = 0; j < len; j++) dst[d0 + j] = src[s0 + j];
    } else {
      for (let j = 0; j < len; j++) dst[d0 + j * ds] = src[s0 + j * ss];
    }
  });
}
