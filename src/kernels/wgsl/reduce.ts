/**
 * sum / max over any set of axes, without permuting: the input is read through strides. Adjacent axes of the
 * same kind (kept or reduced) are merged first. Output element o walks the reduced index space of its slice:
 * one thread per output when there are many outputs or short slices, else one workgroup per output
 * (threads stride over the slice, then a tree reduction in workgroup memory).
 */
import type { ReduceOp } from '../../autograd/backend.js';
import { stridesOf, type Shape } from '../../autograd/shape.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { grid, groups1d, header, main1d, ro, rw, stridedOffsets } from './shader.js';

const INIT: Record<ReduceOp, string> = { sum: '0.0', max: 'neg_inf_f()' };
const COMBINE: Record<ReduceOp, (a: string, b: string) => string> = {
  sum: (a, b) => `${a} + ${b}`,
  max: (a, b) => `max_nan(${a}, ${b})`, // NaN propagates, as torch.max
};
/** Threads per output in the workgroup variant. */
const WG_REDUCE = 64;

const WGSL_MAX_NAN = 'fn max_nan(a: f32, b: f32) -> f32 { return select(max(a, b), a + b, is_nan(a) || is_nan(b)); }\n';

export function reduce(rt: GpuRuntime, op: ReduceOp, x: GpuStorage, shape: Shape, axes: readonly number[]): GpuStorage {
  const strides = stridesOf(shape);
  const kept: [number, number][] = []; // (size, stride), outer to inner
  const reduced: [number, number][] = [];
  let prevReduced: boolean | null = null;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const isReduced = axes.includes(d);
    const list = isReduced ? reduced : kept;
    if (prevReduced === isReduced) list[list.length - 1] = [list[list.length - 1][0] * shape[d], strides[d]];
    else list.push([shape[d], strides[d]]);
    prevReduced = isReduced;
  }
  const numOut = kept.reduce((a, [s]) => a * s, 1);
  const R = reduced.reduce((a, [s]) => a * s, 1);
  const kr = kept.length;
  const rr = reduced.length;
  const meta = [numOut, R, ...kept.map(([s]) => s), ...kept.map(([, t]) => t),
    ...reduced.map(([s]) => s), ...reduced.map(([, t]) => t)];
  const out = rt.alloc(numOut * 4);
  const sliceBase = stridedOffsets('o', kr, 2, ['base']);
  const elemOffset = stridedOffsets('r', rr, 2 + 2 * kr, ['off']);
  // a thread per output; on software adapters also for the bias-gradient shapes (rows → a few hundred columns),
  // where a workgroup's barriers cost more than the lost parallelism within one output
  const perThread = numOut >= 2048 || R <= 256 || (rt.software && numOut >= 32);
  const combine = COMBINE[op]('acc', 'x[base + off]');

  if (perThread) {
    rt.dispatch({
      key: `reduce:${op}:thread:k${kr}:r${rr}`,
      source: () => header([ro('x'), rw('out')]) + WGSL_MAX_NAN + main1d('p(0u)', `let o = i;
  ${sliceBase}
  var acc = ${INIT[op]};
  for (var r = 0u; r < p(1u); r++) {
    ${elemOffset}
    acc = ${combine};
  }
  out[o] = acc;`),
      bindings: [x, out],
      meta,
      groups: groups1d(numOut, rt.maxGroups1d),
    });
    return out;
  }

  rt.dispatch({
    key: `reduce:${op}:group:k${kr}:r${rr}`,
    source: () => header([ro('x'), rw('out')]) + WGSL_MAX_NAN + /* wgsl */ `
var<workgroup> partial: array<f32, ${WG_REDUCE}>;
@compute @workgroup_size(${WG_REDUCE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let o = wid.y * nwg.x + wid.x;
  if (o >= p(0u)) { return; }
  ${sliceBase}
  var acc = ${INIT[op]};
  for (var r = lid; r < p(1u); r += ${WG_REDUCE}u) {
    ${elemOffset}
    acc = ${combine};
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${WG_REDUCE / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = ${COMBINE[op]('partial[lid]', 'partial[lid + s]')}; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[o] = partial[0]; }
}`,
    bindings: [x, out],
    meta,
    groups: grid(numOut),
  });
  return out;
}
