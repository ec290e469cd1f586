/**
 * softmax / log_softmax over the last axis (rows × cols), fused and stable: one workgroup per row finds the
 * row max, sums exp(x − max), then writes exp(x − max)/sum or x − max − log(sum). With the 'thread' row kernel
 * (software adapters) one thread does a whole row instead (see rowPlan).
 */
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { header, ro, type RowKernel, rowPlan, rw } from './shader.js';

export function softmax(rt: GpuRuntime, x: GpuStorage, rows: number, cols: number, log: boolean, kind: RowKernel): GpuStorage {
  const out = rt.alloc(rows * cols * 4);
  const plan = rowPlan(kind, rows, cols);
  const wg = plan.stride;
  const write = log ? 'out[base + c] = (x[base + c] - m) - logSum;' : 'out[base + c] = exp(x[base + c] - m) / sum;';
  rt.dispatch({
    key: `softmax:${log}:${kind}:${wg}`,
    source: () => header([ro('x'), rw('out')]) + plan.main(/* wgsl */ `
  var m = neg_inf_f();
  for (var c = lid; c < cols; c += ${wg}u) { m = max(m, x[base + c]); }
  m = wg_max(m, lid);
  var partial = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { partial += exp(x[base + c] - m); }
  let sum = wg_sum(partial, lid);
  let logSum = log(sum);
  for (var c = lid; c < cols; c += ${wg}u) { ${write} }`),
    bindings: [x, out],
    meta: [rows, cols],
    groups: plan.groups,
  });
  return out;
}
