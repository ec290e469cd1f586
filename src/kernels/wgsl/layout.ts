/**
 * Strided index walks shared by the layout kernels (permute, slice, writeRegion) and by broadcasting:
 * dimension collapsing, and one gather/scatter copy kernel over 32-bit words (f32 and i32 alike).
 */
import { broadcastStrides } from '../../autograd/shape.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { groups1d, header, main1d, ro, rw, stridedOffsets } from './shader.js';

/**
 * Merges adjacent dims that every operand walks contiguously (outer stride = inner stride × inner size) and
 * drops size-1 dims, so kernels do fewer index divisions. The element order is unchanged.
 */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]):
  { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((st, j) => outStrides[j][last] === st[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((st, j) => { outStrides[j][last] = st[d]; });
    } else {
      outShape.push(shape[d]);
      strides.forEach((st, j) => outStrides[j].push(st[d]));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    outStrides.forEach((st) => st.push(0));
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Copies `n` words between a contiguous side and a strided side described by (shape, strides, offset):
 * gather: out[i] = x[offset + Σ idx·strides] into a new storage; scatter: dst[offset + Σ idx·strides] = x[i].
 */
export function stridedCopy(rt: GpuRuntime, mode: 'gather' | 'scatter', x: GpuStorage, dst: GpuStorage | null,
  shape: readonly number[], strides: readonly number[], offset: number): GpuStorage {
  const n = shape.reduce((a, b) => a * b, 1);
  const c = collapse(shape, [strides]);
  const rank = c.shape.length;
  const out = dst ?? rt.alloc(n * 4);
  const body = mode === 'gather' ? 'out[i] = x[xi];' : 'out[xi] = x[i];';
  rt.dispatch({
    key: `copy:${mode}:r${rank}`,
    source: () => header([ro('x', 'u32'), rw('out', 'u32')]) +
      main1d('p(0u)', `${stridedOffsets('i', rank, 1, ['xi'], true)}\n  ${body}`),
    bindings: [x, out],
    meta: [n, ...c.shape, ...c.strides[0], offset],
    groups: groups1d(n, rt.maxGroups1d),
  });
  return out;
}

/**
 * Index plan of an elementwise kernel whose operands broadcast to `outShape`: `flat` when every operand already
 * has the output's shape (then operand k is read at i), else a collapsed rank and the metadata for
 * `stridedOffsets` (shape, then each operand's broadcast strides) after the element count.
 */
export function broadcastPlan(outShape: readonly number[], shapes: readonly (readonly number[])[]):
  { n: number; flat: boolean; rank: number; meta: number[] } {
  const n = outShape.reduce((a, b) => a * b, 1);
  const flat = shapes.every((s) => s.reduce((a, b) => a * b, 1) === n);
  if (flat) return { n, flat, rank: 0, meta: [n] };
  const c = collapse(outShape, shapes.map((s) => broadcastStrides(s, outShape)));
  return { n, flat, rank: c.shape.length, meta: [n, ...c.shape, ...c.strides.flat()] };
}
