/** sum_squares: Σ x² over all of x in one workgroup (grid-stride partial sums, then a tree in workgroup memory). */
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { header, ro, rw, workgroupReduce } from './shader.js';

const THREADS = 256;

export function sumSquares(rt: GpuRuntime, x: GpuStorage, n: number): GpuStorage {
  const out = rt.alloc(4);
  rt.dispatch({
    key: 'sumSquares',
    source: () => header([ro('x'), rw('out')]) + workgroupReduce(THREADS) + /* wgsl */ `
@compute @workgroup_size(${THREADS})
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p(0u); i += ${THREADS}u) { let v = x[i]; acc += v * v; }
  let total = wg_sum(acc, lid);
  if (lid == 0u) { out[0] = total; }
}`,
    bindings: [x, out],
    meta: [n],
    groups: [1],
  });
  return out;
}
